/**
 * Name: SmartForagerPetzWorlds - W cooperative-forager worlds in one GAMA simulation
 * Author: sb3_forager (the team of forager_petz.gaml, W times over)
 * Description:
 *   W independent worlds of the cooperative foragers of forager_petz.gaml (model SmartForagerPetz)
 *   in one simulation: each world is an `arena` agent with its own foragers (forager_0 ..
 *   forager_{N-1}), starts, obstacle layout, food, time limit, step counter and episode end. The
 *   foragers' rules (sequential moves in index order, frozen at the food, the teammate slot, the
 *   rewards) are forager_petz.gaml's, reading their arena instead of globals.
 *
 *   Driven from Python by sb3_forager's GAMA backend with `--gama-worlds-per-sim W`
 *   (sb3_forager/gama/batched.py) through ONE bridge agent, PetzWorlds[0], one expression per step:
 *     after load:  [PetzWorlds[0].world_count, .possible_agents, .observation_spaces, .action_spaces]
 *     reset:       PetzWorlds[0].reset_worlds('[{"world":w,"starts":[[x,y],...],"obstacles":[...],
 *                                              "food":[fx,fy],"max_steps":n}, ...]')
 *                  -> [["world"::w, "Agents"::ids, "Observations"::..., "Infos"::...], ...]
 *     step:        PetzWorlds[0].step_worlds('[{"forager_0":[ax,ay],...}, ...]')   (one map per world)
 *                  -> one map per world: "Observations", "Rewards", "Terminations", "Truncations",
 *                     "Infos" (PetzAgent[0].data of forager_petz.gaml), "Agents" ([] when the episode
 *                     ended) and, for a world whose episode ended, "Reset" (Agents, Observations, Infos).
 *   A world whose episode ends starts the same episode again at once while the others go on; a
 *   world given `null` waits (its map is empty). See forager_gym_worlds.gaml for the protocol.
 *
 *   Experiment parameters (load): n_worlds (int, W, 1 .. 1024), n_foragers (int, N >= 2, default 2),
 *   teammate ("first" or "nearest", default "first"). Every episode must have N starts.
 *
 * Tags: reinforcement-learning, pettingzoo, marl, cooperative, vectorized, sb3_forager
 */

model SmartForagerPetzWorlds

global {
	float world_size <- 100.0;
	float food_radius <- 5.0;          // success when distance < food_radius (strict)
	int gama_server_port <- 0;
	int n_worlds <- 1;                 // W: the worlds of this simulation (experiment parameter)
	int n_foragers <- 2;               // N: the foragers of every world
	string teammate <- "first";        // teammate slot rule: "first" or "nearest" (as forager_petz.gaml)
	int max_worlds <- 1024;            // the largest W (sb3_forager/gama/batched.py, MAX_WORLDS_PER_SIM)
	list<string> agent_ids <- [];

	init {
		if (n_worlds < 1 or n_worlds > max_worlds) {
			error "n_worlds must be in [1, " + max_worlds + "], got " + n_worlds;
		}
		if (n_foragers < 2) { error "n_foragers must be >= 2, got " + n_foragers; }
		if (teammate != "first" and teammate != "nearest") {
			error "teammate must be 'first' or 'nearest', got '" + teammate + "'";
		}
		loop k from: 0 to: n_foragers - 1 { agent_ids << "forager_" + string(k); }
		create PetzWorlds {
			world_count <- n_worlds;
			possible_agents <- copy(agent_ids);
			action_spaces <- agent_ids as_map (each::["type"::"Box", "low"::[-1.0, -1.0], "high"::[1.0, 1.0], "dtype"::"float"]);
			observation_spaces <- agent_ids as_map (each::["type"::"Box", "low"::list_with(15, 0.0), "high"::list_with(15, 1.0), "dtype"::"float"]);
		}
		loop w from: 0 to: n_worlds - 1 {
			create arena with: [world_index::w];
		}
	}
}

// ------------ the bridge: all worlds' actions in, all worlds' results out, one expression per step ------------
species PetzWorlds {
	int world_count <- 0;
	list<string> possible_agents;
	map<string, unknown> observation_spaces;
	map<string, unknown> action_spaces;
	list<map<string, unknown>> data <- [];     // the last step's results, one map per world

	list<map<string, unknown>> reset_worlds(string episodes_json) {
		unknown decoded <- nil;
		bool parse_failed <- false;
		try {
			decoded <- from_json(episodes_json);
		} catch {
			parse_failed <- true;
		}
		if (parse_failed or decoded = nil) {
			error "reset_worlds: expected a JSON list of episodes, got: " + episodes_json;
		}
		list<map<string, unknown>> answers <- [];
		loop spec over: list(decoded) {
			map<string, unknown> episode <- map<string, unknown>(spec);
			int w <- int(episode["world"]);
			if (w < 0 or w >= world_count) {
				error "reset_worlds: no world " + w + " in this simulation of " + world_count + " worlds";
			}
			ask arena[w] { do start_episode(episode); }
			answers << ["world"::w, "Agents"::copy(arena[w].agents), "Observations"::copy(arena[w].observations),
				"Infos"::copy(arena[w].infos)];
		}
		return answers;
	}

	list<map<string, unknown>> step_worlds(string actions_json) {
		list decoded <- list(from_json(actions_json));
		if (length(decoded) != world_count) {
			error "step_worlds: expected one action map per world (" + world_count + "), got " + length(decoded);
		}
		data <- [];
		loop w from: 0 to: world_count - 1 {
			unknown acts <- decoded[w];
			if (acts = nil) {
				data << map<string, unknown>([]);
			} else {
				ask arena[w] { do step_world(map<string, unknown>(acts)); }
				data << arena[w].outcome;
			}
		}
		return data;
	}
}

// ------------ one world: its scenario, its foragers, its step counter and episode end ------------
species arena {
	int world_index;
	point food_location <- {95.0, 95.0};
	list<geometry> obstacles <- [];
	int max_steps <- 300;
	int current_step <- 0;
	map<string, unknown> episode <- map<string, unknown>([]);   // the episode played, restarted when it ends
	list<forager> members <- [];                                // in index order
	list<bool> agents_at_food <- [];

	// What this world reports (the PetzAgent fields of forager_petz.gaml)
	list<string> agents <- [];
	map<string, unknown>             observations;
	map<string, float>               rewards;
	map<string, bool>                terminations;
	map<string, bool>                truncations;
	map<string, map<string,unknown>> infos;
	map<string, unknown> outcome <- map<string, unknown>([]);

	list<point> to_points(string what, unknown value) {
		if (value = nil) {
			error "world " + world_index + ": " + what + " must be a list of [x, y] pairs, got nil";
		}
		list<point> points <- [];
		loop element_xy over: list(value) {
			list pair_xy <- list(element_xy);
			if (length(pair_xy) != 2) {
				error "world " + world_index + ": every element of " + what + " must be an [x, y] pair of numbers, got " + string(value);
			}
			points << {float(pair_xy[0]), float(pair_xy[1])};
		}
		return points;
	}

	action start_episode(map<string, unknown> spec) {
		list<point> starts <- to_points("starts", spec["starts"]);
		list<point> centres <- to_points("obstacles", spec["obstacles"]);
		list<point> food_xy <- to_points("food", [spec["food"]]);
		int steps_allowed <- int(spec["max_steps"]);
		if (steps_allowed < 1) { error "world " + world_index + ": max_steps must be >= 1, got " + steps_allowed; }
		if (length(starts) != n_foragers) {
			error "world " + world_index + ": " + n_foragers + " [x, y] starts expected (n_foragers), got " + length(starts);
		}
		list<geometry> squares <- [];
		loop c over: centres { squares << square(10) at_location c; }
		loop p over: starts {
			if (p.x < 1.0 or p.x > world_size - 1.0 or p.y < 1.0 or p.y > world_size - 1.0) {
				error "world " + world_index + ": start " + p + " is outside [1, 99] x [1, 99]";
			}
			loop obs over: squares {
				if (p intersects obs) { error "world " + world_index + ": start " + p + " is inside (or on) an obstacle"; }
			}
		}
		ask members { do die; }
		episode <- spec;
		food_location <- food_xy[0];
		obstacles <- squares;
		max_steps <- steps_allowed;
		current_step <- 0;
		agents_at_food <- list_with(n_foragers, false);
		agents <- copy(agent_ids);
		observations <- map<string, unknown>([]);
		rewards <- map<string, float>([]);
		terminations <- map<string, bool>([]);
		truncations <- map<string, bool>([]);
		infos <- map<string, map<string,unknown>>([]);
		loop aid over: agent_ids { infos[aid] <- map<string, unknown>([]); }
		members <- [];
		loop idx from: 0 to: n_foragers - 1 {
			create forager with: [home::self, agent_id::agent_ids[idx], agent_index::idx, location::starts[idx]] returns: created;
			members << first(created);
		}
		// Observations for the reset (after all exist, so each sees its teammate)
		ask members { do compute_observation; }
	}

	// One step of this world (forager_petz.gaml's main_loop); when its episode ends, it starts it again.
	action step_world(map<string, unknown> acts) {
		if (empty(members)) { error "world " + world_index + " has no episode: reset it first"; }
		current_step <- current_step + 1;
		ask members { do apply_action(acts); do compute_observation; do compute_reward; }
		if ((agents_at_food all_match each) or (current_step >= max_steps)) { agents <- []; }
		outcome <- ["Observations"::copy(observations), "Rewards"::copy(rewards), "Terminations"::copy(terminations),
			"Truncations"::copy(truncations), "Infos"::copy(infos), "Agents"::copy(agents)];
		if (empty(agents)) {
			do start_episode(episode);
			outcome["Reset"] <- ["Agents"::copy(agents), "Observations"::copy(observations), "Infos"::copy(infos)];
		}
	}
}

species forager {
	arena  home;
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

	init { previous_distance <- location distance_to home.food_location; }

	action apply_action(map<string, unknown> acts) {
		bumped <- false;
		if (at_food) { return; }   // frozen once at the food
		if (not (acts contains_key agent_id)) { return; }
		list act <- list(acts[agent_id]);
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
		if (new_x < 1.0) { new_x <- 1.0; velocity_x <- 0.0; bumped <- true; }
		if (new_x > world_size - 1.0) { new_x <- world_size - 1.0; velocity_x <- 0.0; bumped <- true; }
		if (new_y < 1.0) { new_y <- 1.0; velocity_y <- 0.0; bumped <- true; }
		if (new_y > world_size - 1.0) { new_y <- world_size - 1.0; velocity_y <- 0.0; bumped <- true; }
		point new_loc <- {new_x, new_y};
		bool blocked <- false;
		loop obs over: home.obstacles { if (new_loc intersects obs) { blocked <- true; bumped <- true; break; } }
		if (!blocked) { location <- new_loc; }
		else {
			point slide_x <- {new_x, location.y};
			point slide_y <- {location.x, new_y};
			bool x_ok <- true;
			loop obs over: home.obstacles { if (slide_x intersects obs) { x_ok <- false; break; } }
			bool y_ok <- true;
			loop obs over: home.obstacles { if (slide_y intersects obs) { y_ok <- false; break; } }
			if (x_ok and y_ok) { location <- (abs(move_x) >= abs(move_y)) ? slide_x : slide_y; }
			else if (x_ok) { location <- slide_x; velocity_y <- 0.0; }
			else if (y_ok) { location <- slide_y; velocity_x <- 0.0; }
			else { velocity_x <- 0.0; velocity_y <- 0.0; }
		}
	}

	action compute_observation {
		float dist  <- location distance_to home.food_location;
		float angle <- location towards home.food_location;   // degrees; no guard in this model (as forager_petz.gaml)
		list<float> sensors <- [];
		loop i from: 0 to: 7 {
			float ray_angle <- float(i) * 45.0;
			point ray_end <- {location.x + sensor_range * cos(ray_angle), location.y + sensor_range * sin(ray_angle)};
			geometry ray <- line([location, ray_end]);
			float closest <- 1.0;
			geometry border <- polyline([{0, 0}, {world_size, 0}, {world_size, world_size}, {0, world_size}, {0, 0}]);
			if (ray intersects border) {
				geometry hit <- ray inter border;
				if (hit != nil) { float d <- (location distance_to hit.location) / sensor_range; closest <- min([closest, d]); }
			}
			loop obs over: home.obstacles {
				if (ray intersects obs) {
					geometry hit <- ray inter obs;
					if (hit != nil) { float d <- (location distance_to hit.location) / sensor_range; closest <- min([closest, d]); }
				}
			}
			add closest to: sensors;
		}
		// Teammate slot (indices 13-14): among this world's foragers only, chosen now (see forager_petz.gaml)
		float other_x <- 0.5; float other_y <- 0.5;
		forager other <- nil;
		if (teammate = "first") {
			other <- home.members first_with (each.agent_id != agent_id);
		} else {
			float best_distance <- 0.0;
			loop candidate over: home.members {
				if (candidate.agent_id != agent_id) {
					float mate_distance <- location distance_to candidate.location;
					if (other = nil or mate_distance < best_distance) { other <- candidate; best_distance <- mate_distance; }
				}
			}
		}
		if (other != nil) { other_x <- other.location.x / world_size; other_y <- other.location.y / world_size; }
		home.observations[agent_id] <- [
			location.x / world_size, location.y / world_size,
			min([1.0, dist / (world_size * 1.414)]),
			(cos(angle) + 1.0) / 2.0, (sin(angle) + 1.0) / 2.0
		] + sensors + [other_x, other_y];
	}

	action compute_reward {
		float dist <- location distance_to home.food_location;
		if (dist < food_radius and not at_food) { at_food <- true; home.agents_at_food[agent_index] <- true; }
		home.infos[agent_id] <- map<string, unknown>(["at_food"::at_food]);
		if (home.agents_at_food all_match each) {
			home.rewards[agent_id] <- 100.0; home.terminations[agent_id] <- true; home.truncations[agent_id] <- false; return;
		}
		if (at_food) {
			home.rewards[agent_id] <- 0.5; home.terminations[agent_id] <- false; home.truncations[agent_id] <- false; return;
		}
		if (home.current_step >= home.max_steps) {
			home.rewards[agent_id] <- -1.0; home.terminations[agent_id] <- false; home.truncations[agent_id] <- true; return;
		}
		float delta <- previous_distance - dist;
		float step_reward <- delta * 2.0 - 0.01;
		if (bumped) { step_reward <- step_reward - 1.0; }
		home.rewards[agent_id] <- step_reward;
		previous_distance <- dist;
		home.terminations[agent_id] <- false; home.truncations[agent_id] <- false;
	}
}

experiment petz_worlds_env {
	parameter "communication_port" var: gama_server_port;
	parameter "n_worlds" var: n_worlds;
	parameter "n_foragers" var: n_foragers;
	parameter "teammate" var: teammate;
}
