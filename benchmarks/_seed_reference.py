"""The optimisation-design case study's original code, the benchmark's reference.

The model class and the bootstrap are the case study's code (OR-Tools with
SCIP, one model built and solved per resample, sequentially), with two
changes that do not affect the timing: the progress bar is dropped and the
resampling takes a seeded generator so that runs can be repeated.
"""

import random

import numpy as np
import pandas as pd
from ortools.linear_solver import pywraplp


class SingleFeatureOptimizationModel:
    """The discrete optimisation model of Bertsimas et al. (2015), as published."""

    def __init__(self, data, n_groups, units_per_group, metric, unit):
        self.data = data.reset_index(drop=True)
        self.parameters = {
            "rho": 0.5,
            "groups": range(n_groups),
            "units": range(len(self.data)),
            "unit_list": self.data[unit].tolist(),
            "metric_list": self.data[metric].tolist(),
            "units_per_group": units_per_group,
        }
        self._create_solver()
        self._add_vars()
        self._add_constraints()
        self._set_objective()

    def _create_solver(self):
        self.model = pywraplp.Solver.CreateSolver("SCIP")
        if self.model is None:
            raise Exception("Failed to create SCIP solver")

    def _add_vars(self):
        self.d = self.model.NumVar(0, self.model.infinity(), "d")
        self.x = {}
        for i in self.parameters["units"]:
            for p in self.parameters["groups"]:
                self.x[i, p] = self.model.IntVar(0, 1, "")

    def _set_objective(self):
        self.model.Minimize(self.d)

    def _add_constraints(self):
        self._add_constraints_d_bounding()
        self._add_constraint_group_size()
        self._add_constraint_all_units_assigned()

    def _add_constraints_d_bounding(self):
        rho = self.parameters["rho"]
        for p in self.parameters["groups"]:
            for q in self.parameters["groups"]:
                if p < q:
                    mu_p, mu_q = self._mu(p), self._mu(q)
                    var_p, var_q = self._var(p), self._var(q)
                    self.model.Add(self.d >= mu_p - mu_q + rho * var_p - rho * var_q)
                    self.model.Add(self.d >= mu_p - mu_q + rho * var_q - rho * var_p)
                    self.model.Add(self.d >= mu_q - mu_p + rho * var_p - rho * var_q)
                    self.model.Add(self.d >= mu_q - mu_p + rho * var_q - rho * var_p)

    def _add_constraint_group_size(self):
        for p in self.parameters["groups"]:
            self.model.Add(
                self.model.Sum([self.x[i, p] for i in self.parameters["units"]])
                == self.parameters["units_per_group"]
            )

    def _add_constraint_all_units_assigned(self):
        for i in self.parameters["units"]:
            self.model.Add(
                self.model.Sum([self.x[i, p] for p in self.parameters["groups"]]) == 1
            )

    def _mu(self, p):
        k = self.parameters["units_per_group"]
        metric = self.parameters["metric_list"]
        return self.model.Sum(
            [(self.x[i, p] * metric[i]) / k for i in self.parameters["units"]]
        )

    def _var(self, p):
        k = self.parameters["units_per_group"]
        metric = self.parameters["metric_list"]
        return self.model.Sum(
            [(self.x[i, p] * metric[i] ** 2) / k for i in self.parameters["units"]]
        )

    def optimize(
        self, max_run_time=60, max_solution_gap=0.05, max_solutions=None, num_threads=-1
    ):
        self.model.SetTimeLimit(max_run_time * 60 * 1000)
        self.model.SetNumThreads(num_threads)
        self.model.SetSolverSpecificParametersAsString(
            f"limits/gap = {max_solution_gap}"
        )
        self.model.SetSolverSpecificParametersAsString(
            f"limits/time = {max_run_time * 60}"
        )
        if max_solutions:
            self.model.SetSolverSpecificParametersAsString(
                f"limits/solutions = {max_solutions}"
            )
        status = self.model.Solve()
        self._extract_solution()
        return status

    def _extract_solution(self):
        tol = 0.01
        self.assignment = {}
        for i in self.parameters["units"]:
            for p in self.parameters["groups"]:
                if self.x[i, p].solution_value() > tol:
                    self.assignment.setdefault(p, []).append(
                        self.parameters["unit_list"][i]
                    )

    def get_groups_list(self):
        return list(self.assignment.values())


def random_shuffle_groups(group_list, seed):
    random.seed(seed)
    random.shuffle(group_list)
    return group_list


def _compute_delta(response_tr, responses_co):
    return np.mean(response_tr) - np.mean(responses_co)


def _compute_pvalue(obs_delta, bootstrap_deltas):
    count_extreme = sum(1 for d in bootstrap_deltas if abs(d) >= abs(obs_delta))
    return (1 + count_extreme) / (1 + len(bootstrap_deltas))


def _sample(data, unit, normalized_feature, seed, units_per_group):
    model = SingleFeatureOptimizationModel(
        data,
        n_groups=2,
        units_per_group=units_per_group,
        unit=unit,
        metric=normalized_feature,
    )
    model.optimize()
    optimized_groups = model.get_groups_list()
    randomized_groups = random_shuffle_groups(optimized_groups, seed=seed)
    treatment_labels = ["Placebo", "Treatment"]
    return {treatment_labels[i]: randomized_groups[i] for i in range(2)}


def _optimal_treatment_control_split(data, unit, outcome, seed, units_per_group):
    result = _sample(data, unit, "norm_initial_weight", seed, units_per_group)
    treatment_dict = {inx: gp for gp, indices in result.items() for inx in indices}
    treatment = data[unit].map(treatment_dict)
    mask_tr = (treatment == "Treatment").values
    return data[outcome].values, mask_tr


def _random_draw_with_replacement(data, unit, rng):
    sample = data.sample(frac=1, replace=True, random_state=rng)
    sample[unit] = range(1, len(sample) + 1)
    return sample


def run_bootstrap(data, unit, outcome, n_bootstrap, random_state=0):
    """The case study's ``_run_bootstrap``: sequential, one MIP per resample."""
    rng = np.random.RandomState(random_state)
    units_per_group = len(data) // 2
    deltas = []
    for i in range(n_bootstrap):
        sample_b = _random_draw_with_replacement(data, unit, rng)
        responses_b, mask_tr_b = _optimal_treatment_control_split(
            sample_b, unit, outcome, seed=i, units_per_group=units_per_group
        )
        deltas.append(_compute_delta(responses_b[mask_tr_b], responses_b[~mask_tr_b]))
    return deltas


def inference(data, unit, outcome, treatment, treatment_value, n_bootstrap, seed=0):
    """The case study's ``inference``: observed delta, bootstrap, p-value table."""
    responses = data[outcome].values
    mask_tr = (data[treatment] == treatment_value).values
    delta_obs = _compute_delta(responses[mask_tr], responses[~mask_tr])
    deltas_b = run_bootstrap(data, unit, outcome, n_bootstrap, random_state=seed)
    return pd.DataFrame(
        {
            "delta": [delta_obs],
            "pvalue": [_compute_pvalue(delta_obs, deltas_b)],
            "n_bootstrap": [n_bootstrap],
            "avg_delta_bootstrap": [np.round(np.mean(deltas_b), 2)],
            "std_delta_bootstrap": [np.round(np.std(deltas_b), 2)],
        }
    ), np.asarray(deltas_b)
