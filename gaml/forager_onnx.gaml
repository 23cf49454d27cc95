/**
 * Name: SmartForagerOnnx - the ForagerRL world driven by an exported policy (GAMA's ONNX plugin)
 * Author: sb3_forager
 * Description:
 *   The world, physics, sensors and observation of forager_gym.gaml (experiment onnx_single) and of
 *   forager_petz.gaml (experiment onnx_team), with the same scenario parameters (starts_json,
 *   obstacles_json, food_x, food_y, max_steps, teammate), but no Python: the foragers are driven by
 *   a policy exported with `python -m sb3_forager export RUN --onnx gaml/policy.onnx` and run by the
 *   ONNX plugin (gama.plugin.onnx). The file is loaded ONCE (parameter policy_file, resolved against
 *   this file's folder) and every cycle makes ONE batched call, onnx_predict(policy, [the last
 *   observation of every forager, in index order], "action"), whose row i is forager i's action.
 *   The graph holds the run's observation normalisation and the clip to [-1, 1], so it takes the
 *   raw observation built here and its action is applied as the bridges apply Python's:
 *     onnx_single: move (current_step += 1), observe, reward           (forager_gym.gaml's order)
 *     onnx_team:   current_step += 1, then forager_0, forager_1, ... each move, observe, reward
 *                  (forager_petz.gaml's order; a forager at the food is frozen)
 *   Each forager decides on the observation it made at its last step (as the env returns it), so
 *   the episode is the one `evaluate.py --onnx` plays on the embedded backend, up to float32 rounding.
 *   The simulation pauses at the end of the episode (food reached or max_steps), printing the outcome.
 *   init checks the policy against this world: input "obs" [-1, 13] (single) or [-1, 15] (team),
 *   output "action", and the metadata obs_layout written by the exporter.
 * Tags: reinforcement-learning, onnx, deployment, tutorial, sb3_forager
 */

model SmartForagerOnnx

global {
	float world_size <- 100.0;
	float food_radius <- 5.0;
	int current_step <- 0;

	// ---- Scenario parameters: as in forager_gym.gaml / forager_petz.gaml ----
	string starts_json <- "";
	string obstacles_json <- "";
	float food_x <- 95.0;
	float food_y <- 95.0;
	int max_steps <- 300;
	string teammate <- "first";        // team only: "first" or "nearest"
	// ---- Deployment parameters ----
	string rules <- "single";          // "single" (forager_gym.gaml) or "team" (forager_petz.gaml); set by the experiment
	string policy_file <- "policy.onnx";

	list<point> tutorial_obstacle_centres <- [{25.0, 25.0}, {35.0, 25.0}, {25.0, 35.0}, {65.0, 45.0}, {75.0, 45.0}, {75.0, 55.0}];
	string single_layout <- "x,y,food_distance,food_cos,food_sin,sensor_0,sensor_45,sensor_90,sensor_135,sensor_180,sensor_225,sensor_270,sensor_315";

	point food_location <- {95.0, 95.0};
	list<geometry> obstacles <- [];
	list<point> start_points <- [];
	list<point> parsed_points <- [];
	int nb_foragers <- 1;
	list<bool> agents_at_food <- [];
	onnx_model policy <- nil;
	bool episode_over <- false;
	float total_return <- 0.0;
	string outcome <- "running";

	init {
		if (rules != "single" and rules != "team") { error "rules must be 'single' or 'team', got '" + rules + "'"; }
		if (teammate != "first" and teammate != "nearest") { error "teammate must be 'first' or 'nearest', got '" + teammate + "'"; }
		if (max_steps < 1) { error "max_steps must be >= 1, got " + max_steps; }
		food_location <- {food_x, food_y};
		list<point> centres <- tutorial_obstacle_centres;
		if (obstacles_json != "") {
			do parse_points param_name: "obstacles_json" json_text: obstacles_json;
			centres <- copy(parsed_points);
		}
		loop c over: centres { obstacles << square(10) at_location c; }
		start_points <- rules = "single" ? [{5.0, 5.0}] : [{15.0, 5.0}, {5.0, 15.0}];
		if (starts_json != "") {
			do parse_points param_name: "starts_json" json_text: starts_json;
			start_points <- copy(parsed_points);
		}
		if (rules = "single" and length(start_points) != 1) { error "starts_json: the single forager takes exactly one [x, y] start, got " + length(start_points); }
		if (rules = "team" and length(start_points) < 2) { error "starts_json: the team needs at least 2 starts, got " + length(start_points); }
		do check_starts;
		nb_foragers <- length(start_points);
		agents_at_food <- list_with(nb_foragers, false);

		// The policy, loaded once, checked against this world
		policy <- onnx_model(policy_file);
		write policy.info;
		int obs_dim <- rules = "single" ? 13 : 15;
		string layout <- rules = "single" ? single_layout : single_layout + ",teammate_x,teammate_y";
		list<int> shape <- list<int>(policy.input_shapes["obs"]);
		if (!(policy.inputs contains "obs") or length(shape) != 2 or last(shape) != obs_dim) {
			error policy_file + ": a " + rules + " policy takes input 'obs' [-1, " + obs_dim + "], this one has " + policy.input_shapes;
		}
		if (!(policy.outputs contains "action")) { error policy_file + " has no output 'action': " + policy.outputs; }
		if ((policy.metadata contains_key "obs_layout") and policy.metadata["obs_layout"] != layout) {
			error policy_file + ": observation layout " + policy.metadata["obs_layout"] + ", this model builds " + layout;
		}
		if (rules = "team" and (policy.metadata contains_key "teammate") and policy.metadata["teammate"] != teammate) {
			write "warning: the policy was trained with teammate '" + policy.metadata["teammate"] + "', this run uses '" + teammate + "'";
		}

		loop idx from: 0 to: nb_foragers - 1 {
			create forager with: [agent_index::idx, location::start_points[idx]];
		}
		ask forager { do compute_observation; }   // the observations of reset
	}

	action parse_points(string param_name, string json_text) {
		parsed_points <- [];
		unknown parsed <- nil;
		bool parse_failed <- false;
		try {
			parsed <- from_json(json_text);
		} catch {
			parse_failed <- true;
		}
		if (parse_failed or parsed = nil) { error param_name + ": expected a JSON list of [x, y] pairs, got: " + json_text; }
		loop element_xy over: list(parsed) {
			list pair_xy <- list(element_xy);
			if (length(pair_xy) != 2) { error param_name + ": every element must be an [x, y] pair of numbers, got: " + json_text; }
			parsed_points << {float(pair_xy[0]), float(pair_xy[1])};
		}
	}

	action check_starts {
		loop p over: start_points {
			if (p.x < 1.0 or p.x > world_size - 1.0 or p.y < 1.0 or p.y > world_size - 1.0) { error "starts_json: start " + p + " is outside [1, 99] x [1, 99]"; }
			loop obs over: obstacles {
				if (p intersects obs) { error "starts_json: start " + p + " is inside (or on) an obstacle"; }
			}
		}
	}

	// One cycle = one step: ONE batched inference for every forager, then the model's own order.
	reflex step_policy when: !episode_over {
		list<list<float>> batch <- forager collect each.observation;   // species order = index order
		list<list<float>> actions <- onnx_predict(policy, batch, "action");
		if (rules = "single") {
			ask forager[0] { do apply_action act: actions[0]; current_step <- current_step + 1; do compute_observation; do compute_reward; }
		} else {
			current_step <- current_step + 1;
			ask forager { do apply_action act: actions[agent_index]; do compute_observation; do compute_reward; }
			if ((agents_at_food all_match each) or current_step >= max_steps) {
				episode_over <- true;
				outcome <- (agents_at_food all_match each) ? "success" : "time limit";
			}
		}
		if (episode_over) {
			write "episode over after " + current_step + " steps: " + outcome + ", return " + total_return;
			do pause;
		}
	}
}

species forager {
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
	list<float> sensors      <- list_with(8, 1.0);
	list<float> observation  <- [];

	init { previous_distance <- location distance_to food_location; }

	// forager_gym.gaml's / forager_petz.gaml's physics, the action given by the policy
	action apply_action(list<float> act) {
		bumped <- false;
		if (at_food) { return; }   // team: frozen once at the food (never true in the single rules)
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
		float angle <- 0.0;
		if (rules = "team" or dist > 0.001) { angle <- location towards food_location; }   // the guard is the single model's only
		sensors <- [];
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
			loop obs over: obstacles {   // the midpoint of the part of the ray inside the square, as the other files
				if (ray intersects obs) {
					geometry hit <- ray inter obs;
					if (hit != nil) { float d <- (location distance_to hit.location) / sensor_range; closest <- min([closest, d]); }
				}
			}
			add closest to: sensors;
		}
		observation <- [
			location.x / world_size, location.y / world_size,
			min([1.0, dist / (world_size * 1.414)]),
			(cos(angle) + 1.0) / 2.0, (sin(angle) + 1.0) / 2.0
		] + sensors;
		if (rules = "team") {   // forager_petz.gaml's teammate slot, chosen now
			float other_x <- 0.5; float other_y <- 0.5;
			forager other <- nil;
			if (teammate = "first") {
				other <- forager first_with (each.agent_index != agent_index);
			} else {
				float best_distance <- 0.0;
				loop j from: 0 to: nb_foragers - 1 {
					forager candidate <- forager[j];
					if (candidate.agent_index != agent_index) {
						float mate_distance <- location distance_to candidate.location;
						if (other = nil or mate_distance < best_distance) { other <- candidate; best_distance <- mate_distance; }
					}
				}
			}
			if (other != nil) { other_x <- other.location.x / world_size; other_y <- other.location.y / world_size; }
			observation <- observation + [other_x, other_y];
		}
	}

	// The rewards of the two files (for the return shown; the policy does not read them)
	action compute_reward {
		float dist <- location distance_to food_location;
		if (rules = "single") {
			if (dist < food_radius) { total_return <- total_return + 100.0; episode_over <- true; outcome <- "success"; return; }
			if (current_step >= max_steps) { total_return <- total_return - 1.0; episode_over <- true; outcome <- "time limit"; return; }
		} else {
			if (dist < food_radius and not at_food) { at_food <- true; agents_at_food[agent_index] <- true; }
			if (agents_at_food all_match each) { total_return <- total_return + 100.0; return; }
			if (at_food) { total_return <- total_return + 0.5; return; }
			if (current_step >= max_steps) { total_return <- total_return - 1.0; return; }
		}
		float step_reward <- (previous_distance - dist) * 2.0 - 0.01;
		if (bumped) { step_reward <- step_reward - 1.0; }
		total_return <- total_return + step_reward;
		previous_distance <- dist;
	}

	aspect default {
		rgb agent_color <- agent_index = 0 ? #blue : rgb(0, 180, 180);
		loop i from: 0 to: 7 {   // the sensor rays, as long as what they read
			float reach <- sensor_range * sensors[i];
			draw line([location, {location.x + reach * cos(float(i) * 45.0), location.y + reach * sin(float(i) * 45.0)}]) color: rgb(200, 60, 60);
		}
		draw circle(rules = "single" ? 3.0 : 0.8) color: at_food ? #orange : agent_color;
	}
}

experiment onnx_single type: gui {
	parameter "rules" var: rules init: "single" among: ["single", "team"];
	parameter "policy_file" var: policy_file;
	parameter "starts_json" var: starts_json;
	parameter "obstacles_json" var: obstacles_json;
	parameter "food_x" var: food_x;
	parameter "food_y" var: food_y;
	parameter "max_steps" var: max_steps;
	output {
		monitor "step" value: current_step;
		monitor "return" value: total_return;
		monitor "outcome" value: outcome;
		display "Continuous World (ONNX policy)" type: 2d {
			graphics "background" { draw rectangle(world_size, world_size) at: {world_size / 2, world_size / 2} color: rgb(240, 240, 240); }
			graphics "obstacles" { loop obs over: obstacles { draw obs color: rgb(80, 80, 80); } }
			graphics "food" { draw circle(food_radius) at: food_location color: rgb(50, 180, 50); }
			species forager;
		}
	}
}

experiment onnx_team type: gui {
	parameter "rules" var: rules init: "team" among: ["single", "team"];
	parameter "policy_file" var: policy_file;
	parameter "starts_json" var: starts_json;
	parameter "obstacles_json" var: obstacles_json;
	parameter "food_x" var: food_x;
	parameter "food_y" var: food_y;
	parameter "max_steps" var: max_steps;
	parameter "teammate" var: teammate;
	output {
		monitor "step" value: current_step;
		monitor "return (team)" value: total_return;
		monitor "outcome" value: outcome;
		display "Multi-Agent World (ONNX policy)" type: 2d {
			graphics "background" { draw rectangle(world_size, world_size) at: {world_size / 2, world_size / 2} color: rgb(240, 240, 240); }
			graphics "obstacles" { loop obs over: obstacles { draw obs color: rgb(80, 80, 80); } }
			graphics "food" { draw circle(food_radius) at: food_location color: rgb(50, 180, 50); }
			species forager;
		}
	}
}
