/**
 * Name: SmartForagerGym - single continuous forager for gama-gymnasium
 * Author: sb3_forager port of Killian Trouillet's ForagerRL tutorial model (steps 8-9)
 * Description:
 *   The `sb3_forager` port of the ForagerRL tutorial's `models/gym/forager_gym.gaml`
 *   (model SmartForagerGym, experiment gym_env). One forager accelerates in a 100 x 100
 *   continuous world (y points down) towards the food at (95, 95) around six 10 x 10
 *   obstacles, seeing 13 values in [0, 1] (position, distance and direction to the food,
 *   8 range sensors). Those are the defaults: the start, the obstacles, the food and the time
 *   limit are experiment parameters (see "Scenario parameters" below).
 *
 *   Driven from Python by the Gymnasium env `sb3_forager/GamaForager-v0` through
 *   gama-gymnasium's GymAgent bridge. The bridge evaluates, and this model must answer:
 *     after load:   GymAgent[0].observation_space, GymAgent[0].action_space
 *     reset:        reload; seed <- x;  GymAgent[0].state, GymAgent[0].info
 *     step:         GymAgent[0].next_action <- [ax, ay];  one synchronous step;  GymAgent[0].data
 *   The same action sequence gives the same observations, rewards and flags as the
 *   package's embedded simulation (numba-compiled kernels, sb3_forager/sim/kernels.py), up to
 *   float rounding.
 *
 *   Running it:
 *     1. start a GAMA headless server:   gama-headless.sh -socket 1001   (gama-headless.bat on Windows)
 *     2. run the Python side, giving this file's path *as the GAMA server sees it*
 *        (the server opens the file, not the Python process), experiment "gym_env",
 *        host localhost (or the server's address) and port 1001.
 *
 *   Start position (docs/model.md, "Decisions"; differs from the tutorial text):
 *   the tutorial writes `create forager number: 1 { location <- {5.0, 5.0}; }`. GAMA runs the
 *   species `init` BEFORE that create body, and a location never set is drawn at random on
 *   first access, so the tutorial's first observation and its `previous_distance` are
 *   measured at a random point. Here the location is passed with `with:`, which GAMA sets
 *   before `init`, so the first observation and `previous_distance` are measured at (5, 5)
 *   (or at the start given by starts_json, below), exactly like the embedded env. Nothing else
 *   in the model is random.
 *
 *   Scenario parameters (docs/model.md, "Scenario family"). Experiment parameters of gym_env,
 *   each declared `parameter "<name>" var: <name>;` (title = global name, so the server finds it by
 *   either), with the default held by the global. The global `init` reads them, so they take effect at
 *   `load` and at every `reload` (GAMA sets parameter values on the simulation before its init runs).
 *   With no parameters at all this file is exactly the tutorial model described above.
 *     name            type    default    meaning
 *     starts_json     string  ""         JSON list with ONE [x, y] start for the forager, e.g.
 *                                        "[[5.0,5.0]]"; "" = the tutorial start (5, 5). Any other
 *                                        length is an error.
 *     obstacles_json  string  ""         JSON list of obstacle centres [[cx, cy], ...]: closed 10 x 10
 *                                        squares, any count, overlaps allowed; "" = the six tutorial
 *                                        squares, "[]" = no obstacle.
 *     food_x, food_y  float   95.0       the food centre (the radius stays 5)
 *     max_steps       int     300        the time limit (truncated when current_step >= max_steps), >= 1
 *   A start must lie in [1, 99] x [1, 99] and not inside or on an obstacle; a malformed list or an
 *   invalid value stops init with a GAML error naming the parameter.
 *
 *   Over the GAMA server, load/reload carry "parameters": [{"name": "starts_json", "type": "string",
 *   "value": "[[5.0,5.0]]"}, {"name": "food_x", "type": "float", "value": 95.0},
 *   {"name": "max_steps", "type": "int", "value": 300}, ...]. Always give "type" (the server reads it
 *   unconditionally); it converts "int" with Integer.valueOf and "float" with Double.valueOf of the
 *   value's text, so send an int as 300, not 300.0. The two lists travel as JSON strings, which init
 *   parses with from_json. Parameter values stay in the experiment between
 *   reloads (read in the GAMA source, not checked on a running GAMA): a reload without parameters
 *   re-runs init with the values last given, so send all of them whenever the scenario changes.
 *
 *   Random scenarios: this model never draws starts or layouts. The Python side (sb3_forager) draws
 *   random starts and obstacle layouts itself, from the env's generator seeded by reset(seed=...),
 *   and sends them here as the parameters above, so a seeded random episode is the same on GAMA as
 *   on the embedded backend.
 *
 * Tags: reinforcement-learning, gymnasium, continuous, tutorial, sb3_forager
 */

model SmartForagerGym

global {
	float world_size <- 100.0;
	float food_radius <- 5.0;          // success when distance < food_radius (strict)
	int current_step <- 0;
	int gama_server_port <- 0;

	// ---- Scenario parameters (experiment parameters, see the header). The defaults are the tutorial's. ----
	string starts_json <- "";          // JSON [[x, y]]: the one start; "" = the tutorial start below
	string obstacles_json <- "";       // JSON [[cx, cy], ...]: obstacle centres; "" = the six tutorial squares
	float food_x <- 95.0;              // food centre
	float food_y <- 95.0;
	int max_steps <- 300;              // time limit

	// The tutorial scenario, used when the JSON parameters are "".
	list<point> tutorial_starts <- [{5.0, 5.0}];
	list<point> tutorial_obstacle_centres <- [{25.0, 25.0}, {35.0, 25.0}, {25.0, 35.0}, {65.0, 45.0}, {75.0, 45.0}, {75.0, 55.0}];

	// Built by init from the parameters; everything else reads these.
	point food_location <- {95.0, 95.0};
	list<geometry> obstacles <- [];
	list<point> start_points <- [];
	list<point> parsed_points <- [];   // output of the action parse_points

	init {
		// ---- Scenario (read here, so at load and at every reload) ----
		if (max_steps < 1) { error "max_steps must be >= 1, got " + max_steps; }
		food_location <- {food_x, food_y};

		// Obstacles: closed 10 x 10 squares (a point on an edge counts as inside: `intersects` is boundary inclusive)
		list<point> centres <- tutorial_obstacle_centres;
		if (obstacles_json != "") {
			do parse_points param_name: "obstacles_json" json_text: obstacles_json;
			centres <- copy(parsed_points);
		}
		loop c over: centres { obstacles << square(10) at_location c; }

		// Start: one [x, y]
		start_points <- tutorial_starts;
		if (starts_json != "") {
			do parse_points param_name: "starts_json" json_text: starts_json;
			start_points <- copy(parsed_points);
		}
		if (length(start_points) != 1) {
			error "starts_json: the single-forager model takes exactly one [x, y] start, got " + length(start_points) + " in " + starts_json;
		}
		do check_starts;

		// The bridge agent first: the forager keeps a reference to GymAgent[0].
		// Both spaces are read by gama-gymnasium right after `load`, so they are set here.
		create GymAgent {
			// Action: Box[-1, 1]^2, the acceleration (ax, ay). The model does not clip it.
			action_space <- ["type"::"Box", "low"::[-1.0, -1.0], "high"::[1.0, 1.0], "dtype"::"float"];
			// Observation: 13 floats in [0, 1]
			observation_space <- ["type"::"Box", "low"::list_with(13, 0.0), "high"::list_with(13, 1.0), "dtype"::"float"];
		}

		// The start through `with:` (set before the species init, see the header comment).
		// The forager's init then fills GymAgent[0].state, which `reset` reads right after `reload`.
		create forager number: 1 with: [location::start_points[0]];
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
			error param_name + ": expected a JSON list of [x, y] pairs such as [[5.0,5.0]], got: " + json_text;
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

	// One bridge `step` = one cycle = one action: nothing happens in a cycle without a pending action,
	// and apply_action consumes next_action (see there).
	reflex main_loop {
		if (GymAgent[0].next_action = nil or empty(GymAgent[0].next_action)) { return; }
		ask forager[0] {
			do apply_action;         // move, then current_step += 1
			do compute_observation;  // GymAgent[0].state
			do compute_reward;       // reward / terminated / truncated / info, then update_data (last)
		}
	}
}

// ------------ gama-gymnasium bridge: the field names and the data keys are the library's contract ------------
species GymAgent {
	map<string, unknown> action_space;
	map<string, unknown> observation_space;

	list<float> state <- list_with(13, 0.0);   // current observation sent to Python
	float reward <- 0.0;
	bool terminated <- false;
	bool truncated <- false;
	// Explicit empty map so that the JSON is {} (a Gymnasium info dict), never [] or null
	map<string, unknown> info <- map<string, unknown>([]);

	list<float> next_action <- [];              // action received from Python: [ax, ay]

	map<string, unknown> data;                  // what the bridge reads after each step

	// Not called by gama-gymnasium (it assigns next_action directly); kept from the tutorial.
	string set_action(string json_str) {
		next_action <- list<float>(from_json(json_str));
		return "ok";
	}

	action update_data {
		data <- [
			"State"::state,
			"Reward"::reward,
			"Terminated"::terminated,
			"Truncated"::truncated,
			"Info"::info
		];
	}
}

species forager {
	float sensor_range      <- 30.0;
	float previous_distance <- 0.0;
	float velocity_x        <- 0.0;
	float velocity_y        <- 0.0;
	float friction          <- 0.8;
	float accel_force       <- 1.5;
	float max_speed         <- 3.0;
	bool  bumped            <- false;
	GymAgent gym_agent      <- GymAgent[0];

	init {
		// location is already (5, 5) here (given with `with:`)
		previous_distance <- location distance_to food_location;
		do compute_observation;
		ask gym_agent { do update_data; }
	}

	action apply_action {
		bumped <- false;
		list<float> act <- gym_agent.next_action;
		// Consume the action: a further cycle without a new `next_action` does nothing
		// (e.g. a GUI run), so one bridge `step` applies exactly one action.
		gym_agent.next_action <- [];
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
		current_step <- current_step + 1;
	}

	action compute_observation {
		float dist  <- location distance_to food_location;
		// `towards` is atan2 in degrees; guard the degenerate case (single model only)
		float angle <- 0.0;
		if (dist > 0.001) { angle <- location towards food_location; }
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
		gym_agent.state <- [
			location.x / world_size,
			location.y / world_size,
			min([1.0, dist / (world_size * 1.414)]),   // the literal 1.414, not sqrt(2)
			(cos(angle) + 1.0) / 2.0,
			(sin(angle) + 1.0) / 2.0
		] + sensors;
	}

	// First match wins: food (+100, terminated) > time limit (-1, truncated) > shaping.
	action compute_reward {
		float dist <- location distance_to food_location;
		if (dist < food_radius) {
			gym_agent.reward <- 100.0;
			gym_agent.terminated <- true;
			gym_agent.truncated <- false;
			gym_agent.info <- map<string, unknown>([]);
			ask gym_agent { do update_data; }
			return;
		}
		if (current_step >= max_steps) {
			gym_agent.reward <- -1.0;
			gym_agent.terminated <- false;
			gym_agent.truncated <- true;
			gym_agent.info <- map<string, unknown>([]);
			ask gym_agent { do update_data; }
			return;
		}
		float delta <- previous_distance - dist;
		float step_reward <- delta * 2.0 - 0.01;
		if (bumped) { step_reward <- step_reward - 1.0; }
		gym_agent.reward <- step_reward;
		previous_distance <- dist;
		gym_agent.terminated <- false;
		gym_agent.truncated <- false;
		gym_agent.info <- map<string, unknown>([]);
		ask gym_agent { do update_data; }
	}

	aspect default {
		draw circle(3) color: #blue;
		draw circle(sensor_range) color: rgb(0, 0, 255, 30) border: rgb(0, 0, 255, 80);
	}
}

experiment gym_env {
	parameter "communication_port" var: gama_server_port;
	// Scenario parameters (see the header): title = global name; the globals hold the defaults.
	parameter "starts_json" var: starts_json;
	parameter "obstacles_json" var: obstacles_json;
	parameter "food_x" var: food_x;
	parameter "food_y" var: food_y;
	parameter "max_steps" var: max_steps;
	// gama-gymnasium sends `seed <- x;` on every reset; the model itself draws no random numbers.
	parameter "Random Seed" var: seed <- 0.0;
	output {
		display "Continuous World" type: 2d {
			graphics "background" { draw rectangle(world_size, world_size) at: {world_size / 2, world_size / 2} color: rgb(240, 240, 240); }
			graphics "obstacles" { loop obs over: obstacles { draw obs color: rgb(80, 80, 80); } }
			graphics "food" { draw circle(food_radius) at: food_location color: rgb(50, 180, 50); }
			species forager;
		}
	}
}
