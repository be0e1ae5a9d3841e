"""Buy-till-you-die maximum likelihood in scipy: the independent peer of src/ltv (BG/NBD and Gamma-Gamma).

Written apart from the TypeScript: the log-likelihoods use scipy.special.gammaln and numpy.logaddexp in the
textbook form (Fader, Hardie & Lee 2005, "Counting your customers the easy way", eq. 6 written with log-gamma;
Fader & Hardie 2013, "The Gamma-Gamma model of monetary value", eq. 3), the optimizer is scipy's Nelder-Mead on
log parameters (no gradient), restarted until it stops moving, then polished by BFGS with numerical gradients.
The predictions use scipy.special.hyp2f1 (FHL 2005 eq. 10) and the lifetimes formulas.

As a bench peer: /usr/bin/python3 bench/peers/btyd_scipy.py X_TX_T.f64 N  (three float64 arrays of N values back to
back: frequency, recency, T) prints one JSON line {r, alpha, a, b, log_likelihood, seconds, evaluations,
seconds_per_evaluation}: scipy BFGS on log parameters from the same start as cohortlab (r = a = b = 1, alpha = mean T),
gradient by scipy's finite differences, gtol 1e-6 on the mean negative log-likelihood (the restarted Nelder-Mead of
the fixture takes minutes at 23,570 customers, hours at a million).
"""
import json
import sys
import time

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1


def bgnbd_loglik(params, x, tx, T):
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide='ignore', invalid='ignore'):
        a4 = np.where(x > 0, np.log(a) - np.log(np.where(x > 0, b + x - 1, 1.0)) - (r + x) * np.log(alpha + tx), -np.inf)
    return float(np.sum(a1 + a2 + np.logaddexp(a3, a4)))


def gamma_gamma_loglik(params, x, m):
    p, q, v = params
    return float(np.sum(gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v) + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(x * m + v)))


def maximize(loglik, start):
    """Nelder-Mead on log parameters, restarted from its own result until the log-likelihood stops improving, then BFGS."""
    f = lambda th: -loglik(np.exp(th))
    th = np.log(np.asarray(start, dtype=float))
    best = f(th)
    for _ in range(20):
        res = minimize(f, th, method='Nelder-Mead', options={'xatol': 1e-12, 'fatol': 1e-13, 'maxiter': 40000, 'maxfev': 80000, 'adaptive': True})
        th = res.x
        if best - res.fun < 1e-10:
            best = min(best, res.fun)
            break
        best = res.fun
    res = minimize(f, th, method='BFGS', options={'gtol': 1e-9})
    if res.fun < best:
        th, best = res.x, res.fun
    return np.exp(th), -best


def fit_bgnbd(x, tx, T):
    return maximize(lambda p: bgnbd_loglik(p, x, tx, T), [1.0, float(np.mean(T)), 1.0, 1.0])


def fit_gamma_gamma(x, m):
    return maximize(lambda p: gamma_gamma_loglik(p, x, m), [1.0, 1.0, float(np.mean(m))])


def p_alive(params, x, tx, T):
    r, alpha, a, b = params
    if x == 0:
        return 1.0
    return 1.0 / (1.0 + a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x))


def expected_purchases(params, t, x, tx, T):
    """FHL 2005 eq. 10."""
    r, alpha, a, b = params
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    num = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
    den = 1 + (x > 0) * a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x)
    return num / den


def p_no_purchase(params, t, x, tx, T):
    """No purchase in (T, T+t]: dead, or alive with a Poisson rate that gave none (its posterior is Gamma(r+x, alpha+T))."""
    r, alpha, a, b = params
    pa = p_alive(params, x, tx, T)
    return (1 - pa) + pa * ((alpha + T) / (alpha + T + t)) ** (r + x)


def expected_spend(gg, x, m):
    p, q, v = gg
    return p * (v + x * m) / (p * x + q - 1)


def clv(params, gg, x, tx, T, m, months, monthly_discount, unit_days):
    """lifetimes' customer_lifetime_value: month i's expected purchases times the expected spend, discounted by (1+d)^i."""
    per_month = 365.25 / 12 / unit_days
    total = 0.0
    for i in range(1, months + 1):
        n = expected_purchases(params, i * per_month, x, tx, T) - expected_purchases(params, (i - 1) * per_month, x, tx, T)
        total += n * expected_spend(gg, x, m) / (1 + monthly_discount) ** i
    return total


if __name__ == '__main__':
    path, n = sys.argv[1], int(sys.argv[2])
    arr = np.fromfile(path, dtype='<f8')
    x, tx, T = arr[:n], arr[n:2 * n], arr[2 * n:3 * n]
    calls = [0]

    def f(th):
        calls[0] += 1
        return -bgnbd_loglik(np.exp(th), x, tx, T) / n

    t0 = time.perf_counter()
    res = minimize(f, np.log([1.0, float(np.mean(T)), 1.0, 1.0]), method='BFGS', options={'gtol': 1e-6})
    seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    f(res.x)
    per_eval = time.perf_counter() - t1
    r, alpha, a, b = np.exp(res.x)
    print(json.dumps({'r': r, 'alpha': alpha, 'a': a, 'b': b, 'log_likelihood': -res.fun * n, 'seconds': seconds, 'evaluations': calls[0] - 1,
                      'seconds_per_evaluation': per_eval, 'converged': bool(res.success), 'message': res.message}))
