/**
 * Name: SmartForagerGymWorlds - W single-forager worlds in one GAMA simulation
 * Author: sb3_forager (the forager of forager_gym.gaml, W times over)
 * Description:
 *   W independent worlds of the single forager of forager_gym.gaml (model SmartForagerGym) in one
 *   simulation: each world is an `arena` agent with its own forager, start, obstacle layout, food,
 *   time limit, step counter and episode end. The forager's rules (moves, walls, obstacles,
 *   sensors, rewards) are forager_gym.gaml's, line for line, reading its arena instead of globals.
 *
 *   Driven from Python by sb3_forager's GAMA backend with `--gama-worlds-per-sim W`
 *   (sb3_forager/gama/batched.py) through ONE bridge agent, GymWorlds[0], one expression per step:
 *     after load:  [GymWorlds[0].world_count, GymWorlds[0].observation_space, GymWorlds[0].action_space]
 *     reset:       GymWorlds[0].reset_worlds('[{"world":w,"starts":[[x,y]],"obstacles":[[cx,cy],...],
 *                                             "food":[fx,fy],"max_steps":n}, ...]')
 *                  -> [["world"::w, "State"::obs, "Info"::info], ...] (one per world reset)
 *     step:        GymWorlds[0].step_worlds('[[ax,ay], [ax,ay], ...]')   (one action per world)
 *                  -> one map per world: "State", "Reward", "Terminated", "Truncated", "Info" (what
 *                     GymAgent[0].data holds in forager_gym.gaml), and, for a world whose episode
 *                     ended in this step, "Reset": ["State"::first observation, "Info"::info].
 *   A world whose episode ends (terminated or truncated) starts its episode again at once, while the
 *   others go on: the same episode (start, layout, food, time limit) it just played, as an SB3 VecEnv
 *   resets a world in the step it ends. The Python side then draws the world's next episode, as the
 *   embedded VecEnv does; when that is another one (a random scenario) it sends it with reset_worlds.
 *   A world given `null` instead of an action is left as it is in that step (its map is empty):
 *   the Python side uses that to replay worlds of different episode lengths after a reconnection.
 *   The simulation's own cycles do nothing: the worlds advance only through step_worlds.
 *
 *   Experiment parameters (load): n_worlds (int, W, 1 .. 1024). The worlds have no episode until
 *   reset_worlds gives them one; step_worlds before that is an error. An invalid episode (a start
 *   outside [1, 99] x [1, 99] or inside or on an obstacle, not exactly one start, max_steps < 1)
 *   stops with a GAML error naming the world and the value. Nothing is random.
 *
 * Tags: reinforcement-learning, gymnasium, continuous, vectorized, sb3_forager
 */

model SmartForagerGymWorlds

global {
	float world_size <- 100.0;
	float food_radius <- 5.0;          // success when distance < food_radius (strict)
	int gama_server_port <- 0;
	int n_worlds <- 1;                 // W: the worlds of this simulation (experiment parameter)
	int max_worlds <- 1024;            // the largest W (sb3_forager/gama/batched.py, MAX_WORLDS_PER_SIM)

	init {
		if (n_worlds < 1 or n_worlds > max_worlds) {
			error "n_worlds must be in [1, " + max_worlds + "], got " + n_worlds;
		}
		create GymWorlds {
			world_count <- n_worlds;
			// Action: Box[-1, 1]^2, the acceleration (ax, ay). The model does not clip it.
			action_space <- ["type"::"Box", "low"::[-1.0, -1.0], "high"::[1.0, 1.0], "dtype"::"float"];
			// Observation: 13 floats in [0, 1]
			observation_space <- ["type"::"Box", "low"::list_with(13, 0.0), "high"::list_with(13, 1.0), "dtype"::"float"];
		}
		loop w from: 0 to: n_worlds - 1 {
			create arena with: [world_index::w];
		}
	}
}

// ------------ the bridge: all worlds' actions in, all worlds' results out, one expression per step ------------
species GymWorlds {
	int world_count <- 0;
	map<string, unknown> action_space;
	map<string, unknown> observation_space;
	list<map<string, unknown>> data <- [];     // the last step's results, one map per world

	// Starts the episodes given (a JSON list of {"world", "starts", "obstacles", "food", "max_steps"}).
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
			answers << ["world"::w, "State"::copy(arena[w].state), "Info"::copy(arena[w].info)];
		}
		return answers;
	}

	// One step of every world (a JSON list of one [ax, ay] per world, or null: that world waits).
	list<map<string, unknown>> step_worlds(string actions_json) {
		list decoded <- list(from_json(actions_json));
		if (length(decoded) != world_count) {
			error "step_worlds: expected one action per world (" + world_count + "), got " + length(decoded);
		}
		data <- [];
		loop w from: 0 to: world_count - 1 {
			unknown act <- decoded[w];
			if (act = nil) {
				data << map<string, unknown>([]);
			} else {
				ask arena[w] { do step_world(list<float>(act)); }
				data << arena[w].outcome;
			}
		}
		return data;
	}
}

// ------------ one world: its scenario, its forager, its step counter and episode end ------------
species arena {
	int world_index;
	point food_location <- {95.0, 95.0};
	list<geometry> obstacles <- [];
	int max_steps <- 300;
	int current_step <- 0;
	map<string, unknown> episode <- map<string, unknown>([]);   // the episode played, restarted when it ends
	forager member <- nil;

	// What this world reports (the GymAgent fields of forager_gym.gaml)
	list<float> state <- list_with(13, 0.0);
	float reward <- 0.0;
	bool terminated <- false;
	bool truncated <- false;
	map<string, unknown> info <- map<string, unknown>([]);
	map<string, unknown> outcome <- map<string, unknown>([]);

	// A JSON-decoded list of [x, y] pairs as points; anything else stops with an error naming `what`.
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

	// A new episode in this world (the same checks as forager_gym.gaml's init), its forager created anew.
	action start_episode(map<string, unknown> spec) {
		list<point> starts <- to_points("starts", spec["starts"]);
		list<point> centres <- to_points("obstacles", spec["obstacles"]);
		list<point> food_xy <- to_points("food", [spec["food"]]);
		int steps_allowed <- int(spec["max_steps"]);
		if (steps_allowed < 1) { error "world " + world_index + ": max_steps must be >= 1, got " + steps_allowed; }
		if (length(starts) != 1) {
			error "world " + world_index + ": the single-forager model takes exactly one [x, y] start, got " + length(starts);
		}
		list<geometry> squares <- [];
		loop c over: centres { squares << square(10) at_location c; }
		point p <- starts[0];
		if (p.x < 1.0 or p.x > world_size - 1.0 or p.y < 1.0 or p.y > world_size - 1.0) {
			error "world " + world_index + ": start " + p + " is outside [1, 99] x [1, 99]";
		}
		loop obs over: squares {
			if (p intersects obs) { error "world " + world_index + ": start " + p + " is inside (or on) an obstacle"; }
		}
		if (member != nil) { ask member { do die; } }
		episode <- spec;
		food_location <- food_xy[0];
		obstacles <- squares;
		max_steps <- steps_allowed;
		current_step <- 0;
		reward <- 0.0;
		terminated <- false;
		truncated <- false;
		info <- map<string, unknown>([]);
		// The start through `with:` (set before the species init, as in forager_gym.gaml)
		create forager with: [home::self, location::p] returns: created;
		member <- first(created);
	}

	// One step of this world; when its episode ends, it starts it again (see the header).
	action step_world(list<float> act) {
		if (member = nil) { error "world " + world_index + " has no episode: reset it first"; }
		ask member {
			do apply_action(act);     // move, then current_step += 1
			do compute_observation;   // state
			do compute_reward;        // reward / terminated / truncated / info
		}
		outcome <- ["State"::copy(state), "Reward"::reward, "Terminated"::terminated, "Truncated"::truncated, "Info"::copy(info)];
		if (terminated or truncated) {
			do start_episode(episode);
			outcome["Reset"] <- ["State"::copy(state), "Info"::copy(info)];
		}
	}
}

species forager {
	arena home;
	float sensor_range      <- 30.0;
	float previous_distance <- 0.0;
	float velocity_x        <- 0.0;
	float velocity_y        <- 0.0;
	float friction          <- 0.8;
	float accel_force       <- 1.5;
	float max_speed         <- 3.0;
	bool  bumped            <- false;

	init {
		// location is already the start here (given with `with:`)
		previous_distance <- location distance_to home.food_location;
		do compute_observation;
	}

	action apply_action(list<float> act) {
		bumped <- false;
		if (act = nil or length(act) < 2) { return; }
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
		home.current_step <- home.current_step + 1;
	}

	action compute_observation {
		float dist  <- location distance_to home.food_location;
		// `towards` is atan2 in degrees; guard the degenerate case (single model only)
		float angle <- 0.0;
		if (dist > 0.001) { angle <- location towards home.food_location; }
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
			// `ray inter obs`: its `location` is the MIDPOINT of the part inside (as forager_gym.gaml)
			loop obs over: home.obstacles {
				if (ray intersects obs) {
					geometry hit <- ray inter obs;
					if (hit != nil) { float d <- (location distance_to hit.location) / sensor_range; closest <- min([closest, d]); }
				}
			}
			add closest to: sensors;
		}
		home.state <- [
			location.x / world_size,
			location.y / world_size,
			min([1.0, dist / (world_size * 1.414)]),   // the literal 1.414, not sqrt(2)
			(cos(angle) + 1.0) / 2.0,
			(sin(angle) + 1.0) / 2.0
		] + sensors;
	}

	// First match wins: food (+100, terminated) > time limit (-1, truncated) > shaping.
	action compute_reward {
		float dist <- location distance_to home.food_location;
		home.info <- map<string, unknown>([]);
		if (dist < food_radius) {
			home.reward <- 100.0;
			home.terminated <- true;
			home.truncated <- false;
			return;
		}
		if (home.current_step >= home.max_steps) {
			home.reward <- -1.0;
			home.terminated <- false;
			home.truncated <- true;
			return;
		}
		float delta <- previous_distance - dist;
		float step_reward <- delta * 2.0 - 0.01;
		if (bumped) { step_reward <- step_reward - 1.0; }
		home.reward <- step_reward;
		previous_distance <- dist;
		home.terminated <- false;
		home.truncated <- false;
	}
}

experiment gym_worlds_env {
	parameter "communication_port" var: gama_server_port;
	parameter "n_worlds" var: n_worlds;
	// the forager model draws no random numbers; one simulation has one generator for all its worlds
	parameter "Random Seed" var: seed <- 0.0;
}
