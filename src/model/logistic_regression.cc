#include "model/logistic_regression.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <thread>

namespace mlfaas::model {
namespace {

constexpr size_t kMaxD = 64;

// Sums over a range of rows at parameters theta = (w, b).
struct Partial {
  double loss = 0;
  std::vector<double> grad;  // d + 1
  std::vector<double> hess;  // (d + 1)^2, upper triangle filled
};

struct Problem {
  std::span<const double> z;
  size_t d;
  std::span<const uint8_t> y;
  double weight[2];  // sample weight per class
  double lambda;     // 1 / C
  int threads;
};

// Sums over rows [begin, end) at theta = (w, b). kD > 0 fixes the width at compile time (the
// common case, unrolled); kD == 0 reads it from P.d.
template <size_t kD>
void AccumulateT(const Problem& P, const double* theta, size_t begin, size_t end, bool want_hess,
                 Partial* out) {
  const size_t d = kD > 0 ? kD : P.d, m = d + 1;
  double grad[kMaxD + 1] = {}, hess[(kD > 0 ? (kD + 1) * (kD + 1) : 1)] = {};
  std::vector<double> hess_dyn(kD > 0 ? 0 : (want_hess ? m * m : 0), 0.0);
  double* h_acc = kD > 0 ? hess : hess_dyn.data();
  double loss = 0;
  double x[kMaxD + 1];
  x[d] = 1.0;
  for (size_t i = begin; i < end; ++i) {
    const double* zi = P.z.data() + i * d;
    double s = theta[d];
    for (size_t j = 0; j < d; ++j) s += theta[j] * (x[j] = zi[j]);
    const double c = P.weight[P.y[i]];
    const double e = std::exp(-std::fabs(s));
    const double inv = 1.0 / (1.0 + e);
    const double p = s >= 0 ? inv : e * inv;
    // logloss = softplus(s) - y*s, softplus(s) = max(s, 0) + log1p(exp(-|s|)).
    loss += c * (std::max(s, 0.0) + std::log1p(e) - (P.y[i] ? s : 0.0));
    const double r = c * (p - P.y[i]);
    for (size_t j = 0; j < m; ++j) grad[j] += r * x[j];
    if (want_hess) {
      const double h = c * p * (1.0 - p);
      for (size_t j = 0; j < m; ++j) {
        const double hx = h * x[j];
        for (size_t k = j; k < m; ++k) h_acc[j * m + k] += hx * x[k];
      }
    }
  }
  out->loss = loss;
  out->grad.assign(grad, grad + m);
  out->hess.assign(want_hess ? m * m : 0, 0.0);
  if (want_hess) std::copy(h_acc, h_acc + m * m, out->hess.begin());
}

void Accumulate(const Problem& P, const double* theta, size_t begin, size_t end, bool want_hess,
                Partial* out) {
  switch (P.d) {
    case 1:
      return AccumulateT<1>(P, theta, begin, end, want_hess, out);
    case 2:
      return AccumulateT<2>(P, theta, begin, end, want_hess, out);
    case 3:
      return AccumulateT<3>(P, theta, begin, end, want_hess, out);
    default:
      return AccumulateT<0>(P, theta, begin, end, want_hess, out);
  }
}

// Full pass (threads over contiguous row ranges, partial sums combined in a fixed order).
Partial Evaluate(const Problem& P, const std::vector<double>& theta, bool want_hess) {
  const size_t n = P.y.size(), m = P.d + 1;
  const int t = std::max(1, std::min<int>(P.threads, static_cast<int>(n / 4096) + 1));
  std::vector<Partial> parts(t);
  std::vector<std::thread> pool;
  for (int k = 1; k < t; ++k) {
    pool.emplace_back(Accumulate, std::cref(P), theta.data(), n * k / t, n * (k + 1) / t, want_hess,
                      &parts[k]);
  }
  Accumulate(P, theta.data(), 0, n / t, want_hess, &parts[0]);
  for (auto& th : pool) th.join();
  Partial total = std::move(parts[0]);
  for (int k = 1; k < t; ++k) {
    total.loss += parts[k].loss;
    for (size_t j = 0; j < m; ++j) total.grad[j] += parts[k].grad[j];
    for (size_t j = 0; j < total.hess.size(); ++j) total.hess[j] += parts[k].hess[j];
  }
  for (size_t j = 0; j < P.d; ++j) {
    total.loss += 0.5 * P.lambda * theta[j] * theta[j];
    total.grad[j] += P.lambda * theta[j];
    if (want_hess) total.hess[j * m + j] += P.lambda;
  }
  return total;
}

// Solves H x = -g for symmetric positive definite H (upper triangle given) by Cholesky.
bool NewtonDirection(std::vector<double> H, const std::vector<double>& g, std::vector<double>* x) {
  const size_t m = g.size();
  for (size_t j = 0; j < m; ++j) {  // H = U^T U, U stored in the upper triangle
    for (size_t k = 0; k < j; ++k) H[j * m + j] -= H[k * m + j] * H[k * m + j];
    if (!(H[j * m + j] > 0)) return false;
    H[j * m + j] = std::sqrt(H[j * m + j]);
    for (size_t c = j + 1; c < m; ++c) {
      for (size_t k = 0; k < j; ++k) H[j * m + c] -= H[k * m + j] * H[k * m + c];
      H[j * m + c] /= H[j * m + j];
    }
  }
  std::vector<double> t(m);
  for (size_t j = 0; j < m; ++j) {  // U^T t = -g
    double s = -g[j];
    for (size_t k = 0; k < j; ++k) s -= H[k * m + j] * t[k];
    t[j] = s / H[j * m + j];
  }
  x->assign(m, 0.0);
  for (size_t j = m; j-- > 0;) {  // U x = t
    double s = t[j];
    for (size_t k = j + 1; k < m; ++k) s -= H[j * m + k] * (*x)[k];
    (*x)[j] = s / H[j * m + j];
  }
  return true;
}

double InfNorm(const std::vector<double>& v) {
  double r = 0;
  for (double x : v) r = std::max(r, std::fabs(x));
  return r;
}

StatusOr<Problem> MakeProblem(std::span<const double> z, size_t d, std::span<const uint8_t> y,
                              const LogisticOptions& o) {
  if (d == 0 || d > kMaxD) return InvalidArgument("need 1 to 64 features");
  if (y.empty() || z.size() != y.size() * d) return InvalidArgument("no rows or size mismatch");
  if (!(o.C > 0)) return InvalidArgument("C must be > 0");
  size_t pos = 0;
  for (uint8_t v : y) pos += v ? 1 : 0;
  if (pos == 0 || pos == y.size()) return InvalidArgument("training data has only one class");
  Problem P{z, d, y, {1.0, 1.0}, 1.0 / o.C, std::max(1, o.threads)};
  if (o.balanced) {
    const double n = static_cast<double>(y.size());
    P.weight[0] = n / (2.0 * static_cast<double>(y.size() - pos));
    P.weight[1] = n / (2.0 * static_cast<double>(pos));
  }
  return P;
}

}  // namespace

double LogisticObjective(std::span<const double> z, size_t d, std::span<const uint8_t> y,
                         const LogisticOptions& options, std::span<const double> coef,
                         double intercept, std::vector<double>* grad) {
  auto P = MakeProblem(z, d, y, options);
  if (!P.ok()) return std::nan("");
  std::vector<double> theta(coef.begin(), coef.end());
  theta.push_back(intercept);
  Partial r = Evaluate(*P, theta, false);
  if (grad) *grad = r.grad;
  return r.loss;
}

namespace {

// Newton iterations from *theta until ||grad||_inf <= gtol. `fit` gets iterations and passes.
Partial Newton(const Problem& P, double gtol, int max_iterations, std::vector<double>* theta,
               LogisticFit* fit) {
  const size_t m = P.d + 1;
  std::vector<double> dir, trial;
  Partial cur = Evaluate(P, *theta, true);
  ++fit->data_passes;
  while (InfNorm(cur.grad) > gtol && fit->iterations < max_iterations) {
    if (!NewtonDirection(cur.hess, cur.grad, &dir)) {
      dir = cur.grad;
      for (double& v : dir) v = -v;
    }
    double slope = 0;
    for (size_t j = 0; j < m; ++j) slope += cur.grad[j] * dir[j];
    const double slack = 1e-13 * std::fabs(cur.loss);  // rounding error of a sum over n rows
    double step = 1.0;
    Partial next;
    for (int tries = 0; tries < 40; ++tries, step /= 2) {  // Armijo backtracking
      trial = *theta;
      for (size_t j = 0; j < m; ++j) trial[j] += step * dir[j];
      next = Evaluate(P, trial, true);
      ++fit->data_passes;
      if (next.loss <= cur.loss + 1e-4 * step * slope + slack) break;
    }
    ++fit->iterations;
    if (!(next.loss <= cur.loss + slack)) break;  // no progress possible at this precision
    *theta = trial;
    cur = std::move(next);
  }
  return cur;
}

// Warm start: every row of the minority class plus every `stride`-th row of the majority class
// weighted by `stride`, so the sampled objective approximates the full one (same penalty).
void WarmStart(const Problem& P, size_t stride, std::vector<double>* theta, LogisticFit* fit) {
  size_t pos = 0;
  for (uint8_t v : P.y) pos += v;
  const uint8_t majority = pos * 2 < P.y.size() ? 0 : 1;
  std::vector<double> zs;
  std::vector<uint8_t> ys;
  size_t seen = 0;
  for (size_t i = 0; i < P.y.size(); ++i) {
    if (P.y[i] == majority && seen++ % stride != 0) continue;
    zs.insert(zs.end(), P.z.begin() + static_cast<ptrdiff_t>(i * P.d),
              P.z.begin() + static_cast<ptrdiff_t>((i + 1) * P.d));
    ys.push_back(P.y[i]);
  }
  Problem S = P;
  S.z = zs;
  S.y = ys;
  S.weight[majority] *= static_cast<double>(stride);
  double total = 0;
  for (uint8_t v : ys) total += S.weight[v];
  LogisticFit sub;
  Newton(S, 1e-6 * total, 100, theta, &sub);
  fit->warm_start_iterations = sub.iterations;
}

}  // namespace

StatusOr<LogisticFit> FitLogistic(std::span<const double> z, size_t d, std::span<const uint8_t> y,
                                  const LogisticOptions& o) {
  MLFAAS_ASSIGN_OR_RETURN(Problem P, MakeProblem(z, d, y, o));
  std::vector<double> theta(d + 1, 0.0);
  LogisticFit fit;
  if (o.warm_start && y.size() >= 65536) WarmStart(P, 16, &theta, &fit);
  double total_weight = 0;
  for (uint8_t v : y) total_weight += P.weight[v];
  const double gtol = o.tolerance * total_weight;
  Partial cur = Newton(P, gtol, o.max_iterations, &theta, &fit);
  fit.coef.assign(theta.begin(), theta.begin() + static_cast<ptrdiff_t>(d));
  fit.intercept = theta[d];
  fit.loss = cur.loss;
  fit.grad_inf = InfNorm(cur.grad);
  fit.converged = fit.grad_inf <= gtol;
  return fit;
}

}  // namespace mlfaas::model
