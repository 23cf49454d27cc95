/**
 * Name: SmartForagerPetzStress - the ForagerRL step-16 stress test (10 cooperative foragers)
 * Author: sb3_forager port of Killian Trouillet's ForagerRL tutorial model (step 16)
 * Description:
 *   The `sb3_forager` port of the ForagerRL tutorial's `forager_petz_stress.gaml` (tutorial step 16,
 *   "Stress Test"; model SmartForagerPetzStress, experiment petz_stress_env): the cooperative team
 *   model of forager_petz.gaml with ten foragers at the FIXED starts (5,5) (15,5) (5,15) (50,5)
 *   (5,50) (50,50) (5,85) (50,85) (85,5) (85,50), as forager_0 .. forager_9, a time limit of 500
 *   steps and the teammate slot filled with the NEAREST other forager, in the tutorial world (food
 *   at (95, 95), six 10 x 10 obstacles). The tutorial uses it to test, zero-shot, a policy trained
 *   on the pair: each forager still sees 15 values in [0, 1], the single model's 13 plus one
 *   teammate's (x, y) / 100.
 *
 *   It is the SAME model as forager_petz.gaml (same species, physics, sensors, rewards, bridge and
 *   parameters), written out in full rather than imported (GAML model import and experiment /
 *   parameter inheritance could not be verified without a GAMA), with other defaults only:
 *   starts_json "" = the ten starts above, max_steps 500, teammate "nearest". Keep the two files
 *   in step: any change to one belongs in the other.
 *
 *   Driven from Python through gama-pettingzoo's PetzAgent contract, like forager_petz.gaml, with
 *   experiment "petz_stress_env". The bridge evaluates, and this model must answer:
 *     after load:   PetzAgent[0].possible_agents, .observation_spaces, .action_spaces
 *     reset:        reload; seed <- x;  PetzAgent[0].agents, .observations, .infos
 *     step:         PetzAgent[0].actions <- from_json('{"forager_0":[ax,ay], ..., "forager_9":[ax,ay]}');
 *                   one synchronous step;  PetzAgent[0].data
 *   The same action sequence gives the same observations, rewards and flags as the
 *   package's embedded simulation (numba-compiled kernels, sb3_forager/sim/kernels.py), up to
 *   float rounding.
 *
 *   Running it:
 *     1. start a GAMA headless server:   gama-headless.sh -socket 1001   (gama-headless.bat on Windows)
 *     2. run the Python side, giving this file's path *as the GAMA server sees it*
 *        (the server opens the file, not the Python process), experiment "petz_stress_env",
 *        host localhost (or the server's address) and port 1001.
 *
 *   Semantics (docs/model.md, "Scenario family", as forager_petz.gaml): per cycle
 *   `current_step += 1` first, then forager_0, forager_1, ..., forager_9 in index order each
 *   move, observe and compute their reward, sequentially (so each forager's nearest teammate is
 *   measured with the foragers before it already moved this cycle and the ones after it not
 *   yet). A forager at the food is frozen. Rewards, first match wins: all at food +100
 *   (terminated) > this one at food +0.5 > time limit -1 (truncated) > distance shaping (-1 more
 *   if bumped). When all foragers are at the food or the time limit is reached,
 *   `PetzAgent[0].agents <- []`. Nothing is random.
 *
 *   Scenario parameters (docs/model.md, "Scenario family"). Experiment parameters of
 *   petz_stress_env, each declared `parameter "<name>" var: <name>;` (title = global name, so the server
 *   finds it by either), with the default held by the global. The global `init` reads them, so they
 *   take effect at `load` and at every `reload` (GAMA sets parameter values on the simulation before
 *   its init runs). With no parameters at all this file is exactly the tutorial's
 *   step-16 stress test described above.
 *     name            type    default    meaning
 *     starts_json     string  ""         JSON list with one [x, y] start per forager, e.g.
 *                                        "[[15.0,5.0],[5.0,15.0]]"; "" = the ten starts above.
 *                                        N = its length (N >= 2): agents forager_0 .. forager_{N-1} in
 *                                        this order, agents_at_food of length N, and the PetzAgent
 *                                        agents / possible_agents / spaces / infos built for these N ids.
 *     obstacles_json  string  ""         JSON list of obstacle centres [[cx, cy], ...]: closed 10 x 10
 *                                        squares, any count, overlaps allowed; "" = the six tutorial
 *                                        squares, "[]" = no obstacle.
 *     food_x, food_y  float   95.0       the food centre (the radius stays 5)
 *     max_steps       int     500        the time limit (truncated when current_step >= max_steps), >= 1
 *     teammate        string  "nearest"  whose position fills the teammate slot (obs 13-14), chosen
 *                                        when the forager observes: "first" = the tutorial pair's
 *                                        `forager first_with (each.agent_id != agent_id)` (the first
 *                                        other forager in index order); "nearest" = the other forager
 *                                        at the smallest Euclidean distance, ties to the lowest index.
 *                                        Any other value is an error.
 *   The observation stays 15 values for any N. A start must lie in [1, 99] x [1, 99] and not inside
 *   or on an obstacle; a malformed list or an invalid value stops init with a GAML error naming the
 *   parameter.
 *
 *   Over the GAMA server, load/reload carry "parameters": [{"name": "starts_json", "type": "string",
 *   "value": "[[15.0,5.0],[5.0,15.0]]"}, {"name": "teammate", "type": "string", "value": "nearest"},
 *   {"name": "food_x", "type": "float", "value": 95.0}, {"name": "max_steps", "type": "int",
 *   "value": 300}, ...]. Always give "type" (the server reads it unconditionally); it converts "int"
 *   with Integer.valueOf and "float" with Double.valueOf of the value's text, so send an int as 300,
 *   not 300.0. The two lists travel as JSON strings, which init parses with from_json. Parameter
 *   values stay in the experiment between reloads (read in the GAMA source, not checked on a running
 *   GAMA): a reload without parameters re-runs init with the values last given, so send all of them
 *   whenever the scenario changes.
 *
 *   Random scenarios: this model never draws starts or layouts. The Python side (sb3_forager) draws
 *   random starts and obstacle layouts itself, from the env's generator seeded by reset(seed=...),
 *   and sends them here as the parameters above, so a seeded random episode is the same on GAMA as
 *   on the embedded backend.
 *
 * Tags: reinforcement-learning, pettingzoo, marl, cooperative, stress-test, tutorial, sb3_forager
 */

model SmartForagerPetzStress

global {
	float world_size <- 100.0;
	float food_radius <- 5.0;          // success when distance < food_radius (strict)
	int current_step <- 0;
	int gama_server_port <- 0;

	// ---- Scenario parameters (experiment parameters, see the header). The defaults are the tutorial's step-16 stress test. ----
	string starts_json <- "";          // JSON [[x, y], ...]: one start per forager, N = its length; "" = the starts below
	string obstacles_json <- "";       // JSON [[cx, cy], ...]: obstacle centres; "" = the six tutorial squares
	float food_x <- 95.0;              // food centre
	float food_y <- 95.0;
	int max_steps <- 500;              // time limit
	string teammate <- "nearest";      // teammate slot rule: "first" or "nearest" (see compute_observation)

	// The step-16 stress test scenario, used when the JSON parameters are "".
	list<point> tutorial_starts <- [{5.0, 5.0}, {15.0, 5.0}, {5.0, 15.0}, {50.0, 5.0}, {5.0, 50.0}, {50.0, 50.0}, {5.0, 85.0}, {50.0, 85.0}, {85.0, 5.0}, {85.0, 50.0}];
	list<point> tutorial_obstacle_centres <- [{25.0, 25.0}, {35.0, 25.0}, {25.0, 35.0}, {65.0, 45.0}, {75.0, 45.0}, {75.0, 55.0}];

	// Built by init from the parameters; everything else reads these.
	point food_location <- {95.0, 95.0};
	list<geometry> obstacles <- [];
	list<point> start_points <- [];
	list<point> parsed_points <- [];   // output of the action parse_points
	int nb_foragers <- 10;             // N = length(start_points)
	list<string> agent_ids <- [];      // forager_0 .. forager_{N-1}
	list<bool> agents_at_food <- [];   // one flag per forager, in index order

	init {
		// ---- Scenario (read here, so at load and at every reload) ----
		if (teammate != "first" and teammate != "nearest") {
			error "teammate must be 'first' or 'nearest', got '" + teammate + "'";
		}
		if (max_steps < 1) { error "max_steps must be >= 1, got " + max_steps; }
		food_location <- {food_x, food_y};

		// Obstacles: closed 10 x 10 squares (a point on an edge counts as inside: `intersects` is boundary inclusive)
		list<point> centres <- tutorial_obstacle_centres;
		if (obstacles_json != "") {
			do parse_points param_name: "obstacles_json" json_text: obstacles_json;
			centres <- copy(parsed_points);
		}
		loop c over: centres { obstacles << square(10) at_location c; }

		// Starts: one [x, y] per forager; their number is the number of foragers
		start_points <- tutorial_starts;
		if (starts_json != "") {
			do parse_points param_name: "starts_json" json_text: starts_json;
			start_points <- copy(parsed_points);
		}
		if (length(start_points) < 2) {
			error "starts_json: the team model needs at least 2 foragers (one [x, y] start each), got " + length(start_points) + " in " + starts_json;
		}
		do check_starts;
		nb_foragers <- length(start_points);
		agent_ids <- [];
		loop k from: 0 to: nb_foragers - 1 { agent_ids << "forager_" + string(k); }
		agents_at_food <- list_with(nb_foragers, false);

		create PetzAgent {
			agents          <- copy(agent_ids);
			possible_agents <- copy(agent_ids);
			// Action: Box[-1, 1]^2, the acceleration (ax, ay), the same for each agent. Not clipped here.
			action_spaces <- agent_ids as_map (each::[
				"type"::"Box", "low"::[-1.0, -1.0], "high"::[1.0, 1.0], "dtype"::"float"
			]);
			// Observation: 15 floats in [0, 1] for any N (the 13 + one teammate's x, y)
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
		// measured at the start points. forager_i gets index i (creation order = index order).
		loop idx from: 0 to: nb_foragers - 1 {
			create forager with: [agent_id::agent_ids[idx], agent_index::idx, location::start_points[idx]];
		}
		// Observations for `reset` (after all exist, so each sees its teammate)
		ask forager { do compute_observation; }
	}

	// Parses `json_text`, a JSON list of [x, y] pairs, into `parsed_points` (numbers are cast with
	// float(), JSON ints included). Anything else stops init with an error naming `param_name`.
	action parse_points(string param_name, string json_text) {
		parsed_points <- [];
		unknown parsed <- nil;
		bool parse_failed <- false;
		try {
			parsed <- from_json(json_text);
		} catch {
			parse_failed <- true;
		}
		if (parse_failed or parsed = nil) {
			error param_name + ": expected a JSON list of [x, y] pairs such as [[15.0,5.0],[5.0,15.0]], got: " + json_text;
		}
		// list(...) of a non-list gives a list of another length (a number -> [it], nil -> []), so the
		// length test below also rejects elements that are not [x, y] pairs.
		loop element_xy over: list(parsed) {
			list pair_xy <- list(element_xy);
			if (length(pair_xy) != 2) {
				error param_name + ": every element must be an [x, y] pair of numbers, got: " + json_text;
			}
			parsed_points << {float(pair_xy[0]), float(pair_xy[1])};
		}
	}

	// Every start in [1, 99] x [1, 99] and not inside or on an obstacle (docs/model.md, "Scenario family").
	action check_starts {
		loop p over: start_points {
			if (p.x < 1.0 or p.x > world_size - 1.0 or p.y < 1.0 or p.y > world_size - 1.0) {
				error "starts_json: start " + p + " is outside [1, 99] x [1, 99]";
			}
			loop obs over: obstacles {
				if (p intersects obs) { error "starts_json: start " + p + " is inside (or on) an obstacle"; }
			}
		}
	}

	reflex main_loop {
		if (PetzAgent[0].actions = nil or empty(PetzAgent[0].actions)) { return; }
		current_step <- current_step + 1;
		// Sequential, in creation (= index) order: forager_0 does all three, then forager_1, ...
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
		// Teammate slot (indices 13-14), chosen NOW, when this forager observes: foragers earlier in
		// the ask order have already moved this cycle, later ones not yet. 0.5/0.5 if there is none.
		float other_x <- 0.5; float other_y <- 0.5;
		forager other <- nil;
		if (teammate = "first") {
			// The tutorial pair's rule: the first other forager in index order.
			other <- forager first_with (each.agent_id != agent_id);
		} else {
			// "nearest": the other forager at the smallest Euclidean distance, ties to the lowest
			// index. An explicit loop in index order that only takes a STRICTLY smaller distance,
			// because GAMA's `closest_to` does not document its tie-breaking.
			float best_distance <- 0.0;
			loop j from: 0 to: nb_foragers - 1 {
				forager candidate <- forager[j];
				if (candidate.agent_id != agent_id) {
					float mate_distance <- location distance_to candidate.location;
					if (other = nil or mate_distance < best_distance) { other <- candidate; best_distance <- mate_distance; }
				}
			}
		}
		if (other != nil) { other_x <- other.location.x / world_size; other_y <- other.location.y / world_size; }
		bridge.observations[agent_id] <- [
			location.x / world_size, location.y / world_size,
			min([1.0, dist / (world_size * 1.414)]),   // the literal 1.414, not sqrt(2)
			(cos(angle) + 1.0) / 2.0, (sin(angle) + 1.0) / 2.0
		] + sensors + [other_x, other_y];
	}

	// First match wins: all at food (+100, terminated) > at food (+0.5) > time limit (-1, truncated) > shaping.
	// Each forager's info map carries its at_food flag: the bridge's explicit arrival signal.
	action compute_reward {
		float dist <- location distance_to food_location;
		if (dist < food_radius and not at_food) { at_food <- true; agents_at_food[agent_index] <- true; }
		if (agents_at_food all_match each) {
			bridge.rewards[agent_id] <- 100.0; bridge.terminations[agent_id] <- true;
			bridge.truncations[agent_id] <- false; bridge.infos[agent_id] <- map<string, unknown>(["at_food"::at_food]); return;
		}
		if (at_food) {
			bridge.rewards[agent_id] <- 0.5; bridge.terminations[agent_id] <- false;
			bridge.truncations[agent_id] <- false; bridge.infos[agent_id] <- map<string, unknown>(["at_food"::at_food]); return;
		}
		if (current_step >= max_steps) {
			bridge.rewards[agent_id] <- -1.0; bridge.terminations[agent_id] <- false;
			bridge.truncations[agent_id] <- true; bridge.infos[agent_id] <- map<string, unknown>(["at_food"::at_food]); return;
		}
		float delta <- previous_distance - dist;
		float step_reward <- delta * 2.0 - 0.01;
		if (bumped) { step_reward <- step_reward - 1.0; }
		bridge.rewards[agent_id] <- step_reward;
		previous_distance <- dist;
		bridge.terminations[agent_id] <- false; bridge.truncations[agent_id] <- false;
		bridge.infos[agent_id] <- map<string, unknown>(["at_food"::at_food]);
	}

	aspect default {
		rgb agent_color <- agent_index = 0 ? #blue : rgb(0, 180, 180);
		draw circle(0.8) color: at_food ? #orange : agent_color;
		draw circle(sensor_range) color: rgb(agent_color.red, agent_color.green, agent_color.blue, 20)
			border: rgb(agent_color.red, agent_color.green, agent_color.blue, 60);
	}
}

experiment petz_stress_env {
	parameter "communication_port" var: gama_server_port;
	// Scenario parameters (see the header): title = global name; the globals hold the defaults.
	parameter "starts_json" var: starts_json;
	parameter "obstacles_json" var: obstacles_json;
	parameter "food_x" var: food_x;
	parameter "food_y" var: food_y;
	parameter "max_steps" var: max_steps;
	parameter "teammate" var: teammate;
	output {
		display "Stress Test World" type: 2d {
			graphics "background" { draw rectangle(world_size, world_size) at: {world_size / 2, world_size / 2} color: rgb(240, 240, 240); }
			graphics "obstacles" { loop obs over: obstacles { draw obs color: rgb(80, 80, 80); } }
			graphics "food" { draw circle(food_radius) at: food_location color: rgb(50, 180, 50); }
			species forager;
		}
	}
}
