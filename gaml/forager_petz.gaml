/**
 * Name: SmartForagerPetz - cooperative multi-agent foragers for gama-pettingzoo
 * Author: sb3_forager port of Killian Trouillet's ForagerRL tutorial model (steps 12-13)
 * Description:
 *   The `sb3_forager` port of the ForagerRL tutorial's `models/petz/forager_petz.gaml`
 *   (model SmartForagerPetz, experiment petz_env). Two cooperative foragers, forager_0 from
 *   (15, 5) and forager_1 from (5, 15), must ALL reach the food at (95, 95) in the same
 *   100 x 100 world as the single model (y points down, six 10 x 10 obstacles). Each one
 *   sees 15 values in [0, 1]: the single model's 13 plus the teammate's (x, y) / 100.
 *
 *   Driven from Python by `sb3_forager.forager_coop_v0.parallel_env(backend="gama")` through
 *   gama-pettingzoo's PetzAgent contract. The bridge evaluates, and this model must answer:
 *     after load:   PetzAgent[0].possible_agents, .observation_spaces, .action_spaces
 *     reset:        reload; seed <- x;  PetzAgent[0].agents, .observations, .infos
 *     step:         PetzAgent[0].actions <- from_json('{"forager_0":[ax,ay],"forager_1":[ax,ay]}');
 *                   one synchronous step;  PetzAgent[0].data
 *   The same action sequence gives the same observations, rewards and flags as the
 *   package's embedded (pure numpy) simulation, up to float rounding.
 *
 *   Running it:
 *     1. start a GAMA headless server:   gama-headless.sh -socket 1001   (gama-headless.bat on Windows)
 *     2. run the Python side, giving this file's path *as the GAMA server sees it*
 *        (the server opens the file, not the Python process), experiment "petz_env",
 *        host localhost (or the server's address) and port 1001.
 *
 *   Semantics (the sb3_forager spec): per cycle `current_step += 1` first, then forager_0 and
 *   then forager_1 each move, observe and compute their reward, sequentially (so forager_0 sees
 *   forager_1's position before it moves, forager_1 sees forager_0's new one). A forager at the
 *   food is frozen. Rewards, first match wins: all at food +100 (terminated) > this one at food
 *   +0.5 > time limit -1 (truncated) > distance shaping (-1 more if bumped). When all foragers
 *   are at the food or the time limit is reached, `PetzAgent[0].agents <- []`. Nothing is random.
 *
 * Tags: reinforcement-learning, pettingzoo, marl, cooperative, tutorial, sb3_forager
 */

model SmartForagerPetz

global {
	float world_size <- 100.0;
	point food_location <- {95.0, 95.0};
	float food_radius <- 5.0;          // success when distance < food_radius (strict)
	list<geometry> obstacles <- [];
	int max_steps <- 300;
	int current_step <- 0;
	int gama_server_port <- 0;

	list<string> agent_ids <- ["forager_0", "forager_1"];
	list<bool> agents_at_food <- [false, false];

	init {
		// Six closed 10 x 10 squares (a point on an edge counts as inside: `intersects` is boundary inclusive)
		obstacles << square(10) at_location {25.0, 25.0};
		obstacles << square(10) at_location {35.0, 25.0};
		obstacles << square(10) at_location {25.0, 35.0};
		obstacles << square(10) at_location {65.0, 45.0};
		obstacles << square(10) at_location {75.0, 45.0};
		obstacles << square(10) at_location {75.0, 55.0};

		create PetzAgent {
			agents          <- copy(agent_ids);
			possible_agents <- copy(agent_ids);
			// Action: Box[-1, 1]^2, the acceleration (ax, ay), the same for each agent. Not clipped here.
			action_spaces <- agent_ids as_map (each::[
				"type"::"Box", "low"::[-1.0, -1.0], "high"::[1.0, 1.0], "dtype"::"float"
			]);
			// Observation: 15 floats in [0, 1]
			observation_spaces <- agent_ids as_map (each::[
				"type"::"Box", "low"::list_with(15, 0.0), "high"::list_with(15, 1.0), "dtype"::"float"
			]);
			// Per-agent infos must be MAPS: SuperSuit's MarkovVectorEnv writes
			// infos[agent]["terminal_observation"] into them. In GAML `[]` is an empty LIST literal;
			// the tutorial's `infos << id::[]` only becomes a map if GAMA casts the stored value to
			// the declared content type (which depends on the runtime container type and on
			// FLAGS.CAST_CONTAINER_CONTENTS), and an uncast list would reach Python as JSON [] instead
			// of {}. An explicit empty map always serialises as {}.
			loop aid over: agent_ids { infos[aid] <- map<string, unknown>([]); }
		}

		// Locations through `with:` are set before the species init, so previous_distance is
		// measured at the start points.
		create forager with: [agent_id::"forager_0", agent_index::0, location::{15.0,  5.0}];
		create forager with: [agent_id::"forager_1", agent_index::1, location::{5.0, 15.0}];
		// Observations for `reset` (after both exist, so each sees its teammate)
		ask forager { do compute_observation; }
	}

	reflex main_loop {
		if (PetzAgent[0].actions = nil or empty(PetzAgent[0].actions)) { return; }
		current_step <- current_step + 1;
		// Sequential, in creation order: forager_0 does all three, then forager_1
		ask forager { do apply_action; do compute_observation; do compute_reward; }
		// Consume the actions: a further cycle without new actions does nothing (e.g. a GUI run),
		// so one bridge `step` applies exactly one joint action.
		PetzAgent[0].actions <- map<string, unknown>([]);
		// End of the episode: PettingZoo's signal is an empty agent list
		if ((agents_at_food all_match each) or (current_step >= max_steps)) {
			PetzAgent[0].agents <- [];
		}
		ask PetzAgent { do update_data; }
	}
}

// ------------ gama-pettingzoo bridge: the field names and the data keys are the library's contract ------------
species PetzAgent {
	list<string> agents;
	list<string> possible_agents;
	map<string, unknown> observation_spaces;
	map<string, unknown> action_spaces;
	map<string, unknown>             observations;
	map<string, float>               rewards;
	map<string, bool>                terminations;
	map<string, bool>                truncations;
	map<string, map<string,unknown>> infos;
	map<string, unknown>             actions;   // set by Python before each step
	map<string, map<string,unknown>> data;      // what the bridge reads after each step

	action update_data {
		data <- [
			"Observations"::observations, "Rewards"::rewards,
			"Terminations"::terminations, "Truncations"::truncations, "Infos"::infos
		];
	}
}

species forager {
	string agent_id;
	int    agent_index;
	float  sensor_range      <- 30.0;
	float  previous_distance <- 0.0;
	bool   at_food           <- false;
	float  velocity_x        <- 0.0;
	float  velocity_y        <- 0.0;
	float  friction          <- 0.8;
	float  accel_force       <- 1.5;
	float  max_speed         <- 3.0;
	bool   bumped            <- false;
	PetzAgent bridge         <- PetzAgent[0];

	init { previous_distance <- location distance_to food_location; }

	action apply_action {
		bumped <- false;
		if (at_food) { return; }   // frozen once at the food
		if (not (bridge.actions contains_key agent_id)) { return; }
		list act <- list(bridge.actions[agent_id]);
		if (length(act) < 2) { return; }
		float ax <- float(act[0]);
		float ay <- float(act[1]);
		velocity_x <- velocity_x * friction + ax * accel_force;
		velocity_y <- velocity_y * friction + ay * accel_force;
		float speed <- sqrt(velocity_x^2 + velocity_y^2);
		if (speed > max_speed) {
			velocity_x <- velocity_x * max_speed / speed;
			velocity_y <- velocity_y * max_speed / speed;
		}
		float move_x <- velocity_x;
		float move_y <- velocity_y;
		float new_x <- location.x + move_x;
		float new_y <- location.y + move_y;
		// Walls first: clamp each axis to [1, 99]
		if (new_x < 1.0) { new_x <- 1.0; velocity_x <- 0.0; bumped <- true; }
		if (new_x > world_size - 1.0) { new_x <- world_size - 1.0; velocity_x <- 0.0; bumped <- true; }
		if (new_y < 1.0) { new_y <- 1.0; velocity_y <- 0.0; bumped <- true; }
		if (new_y > world_size - 1.0) { new_y <- world_size - 1.0; velocity_y <- 0.0; bumped <- true; }
		// Obstacles: only the destination point is tested, then try to slide along one axis
		point new_loc <- {new_x, new_y};
		bool blocked <- false;
		loop obs over: obstacles { if (new_loc intersects obs) { blocked <- true; bumped <- true; break; } }
		if (!blocked) { location <- new_loc; }
		else {
			point slide_x <- {new_x, location.y};
			point slide_y <- {location.x, new_y};
			bool x_ok <- true;
			loop obs over: obstacles { if (slide_x intersects obs) { x_ok <- false; break; } }
			bool y_ok <- true;
			loop obs over: obstacles { if (slide_y intersects obs) { y_ok <- false; break; } }
			if (x_ok and y_ok) { location <- (abs(move_x) >= abs(move_y)) ? slide_x : slide_y; }
			else if (x_ok) { location <- slide_x; velocity_y <- 0.0; }
			else if (y_ok) { location <- slide_y; velocity_x <- 0.0; }
			else { velocity_x <- 0.0; velocity_y <- 0.0; }
		}
	}

	action compute_observation {
		float dist  <- location distance_to food_location;
		float angle <- location towards food_location;   // degrees; no guard in this model (as the tutorial)
		list<float> sensors <- [];
		loop i from: 0 to: 7 {
			float ray_angle <- float(i) * 45.0;   // 0 = +x, 90 = +y (screen down)
			point ray_end <- {location.x + sensor_range * cos(ray_angle), location.y + sensor_range * sin(ray_angle)};
			geometry ray <- line([location, ray_end]);
			float closest <- 1.0;
			geometry border <- polyline([{0, 0}, {world_size, 0}, {world_size, world_size}, {0, world_size}, {0, 0}]);
			if (ray intersects border) {
				geometry hit <- ray inter border;
				if (hit != nil) { float d <- (location distance_to hit.location) / sensor_range; closest <- min([closest, d]); }
			}
			// For a square, `ray inter obs` is the part of the ray inside it and its `location` is the
			// MIDPOINT of that segment (mean of its vertices), not the first hit point. Kept on purpose.
			loop obs over: obstacles {
				if (ray intersects obs) {
					geometry hit <- ray inter obs;
					if (hit != nil) { float d <- (location distance_to hit.location) / sensor_range; closest <- min([closest, d]); }
				}
			}
			add closest to: sensors;
		}
		float other_x <- 0.5; float other_y <- 0.5;
		forager other <- forager first_with (each.agent_id != agent_id);
		if (other != nil) { other_x <- other.location.x / world_size; other_y <- other.location.y / world_size; }
		bridge.observations[agent_id] <- [
			location.x / world_size, location.y / world_size,
			min([1.0, dist / (world_size * 1.414)]),   // the literal 1.414, not sqrt(2)
			(cos(angle) + 1.0) / 2.0, (sin(angle) + 1.0) / 2.0
		] + sensors + [other_x, other_y];
	}

	// First match wins: all at food (+100, terminated) > at food (+0.5) > time limit (-1, truncated) > shaping.
	action compute_reward {
		float dist <- location distance_to food_location;
		if (dist < food_radius and not at_food) { at_food <- true; agents_at_food[agent_index] <- true; }
		if (agents_at_food all_match each) {
			bridge.rewards[agent_id] <- 100.0; bridge.terminations[agent_id] <- true;
			bridge.truncations[agent_id] <- false; bridge.infos[agent_id] <- map<string, unknown>([]); return;
		}
		if (at_food) {
			bridge.rewards[agent_id] <- 0.5; bridge.terminations[agent_id] <- false;
			bridge.truncations[agent_id] <- false; bridge.infos[agent_id] <- map<string, unknown>([]); return;
		}
		if (current_step >= max_steps) {
			bridge.rewards[agent_id] <- -1.0; bridge.terminations[agent_id] <- false;
			bridge.truncations[agent_id] <- true; bridge.infos[agent_id] <- map<string, unknown>([]); return;
		}
		float delta <- previous_distance - dist;
		float step_reward <- delta * 2.0 - 0.01;
		if (bumped) { step_reward <- step_reward - 1.0; }
		bridge.rewards[agent_id] <- step_reward;
		previous_distance <- dist;
		bridge.terminations[agent_id] <- false; bridge.truncations[agent_id] <- false;
		bridge.infos[agent_id] <- map<string, unknown>([]);
	}

	aspect default {
		rgb agent_color <- agent_index = 0 ? #blue : rgb(0, 180, 180);
		draw circle(0.8) color: at_food ? #orange : agent_color;
		draw circle(sensor_range) color: rgb(agent_color.red, agent_color.green, agent_color.blue, 20)
			border: rgb(agent_color.red, agent_color.green, agent_color.blue, 60);
	}
}

experiment petz_env {
	parameter "communication_port" var: gama_server_port;
	output {
		display "Multi-Agent World" type: 2d {
			graphics "background" { draw rectangle(world_size, world_size) at: {world_size / 2, world_size / 2} color: rgb(240, 240, 240); }
			graphics "obstacles" { loop obs over: obstacles { draw obs color: rgb(80, 80, 80); } }
			graphics "food" { draw circle(food_radius) at: food_location color: rgb(50, 180, 50); }
			species forager;
		}
	}
}
