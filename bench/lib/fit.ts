export interface LinearFit {
  slope: number;
  intercept: number;
  /** Coefficient of determination; 1 when every point lies on the line (and when y does not vary at all). */
  r2: number;
  predict(x: number): number;
}

/** Ordinary least squares of y on x. */
export function linearFit(xs: number[], ys: number[]): LinearFit {
  if (xs.length !== ys.length || xs.length < 2) throw new Error(`a linear fit needs at least two (x, y) pairs, got ${xs.length} and ${ys.length}`);
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) throw new Error('a linear fit needs at least two distinct x values');
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const r2 = syy === 0 ? 1 : (sxy * sxy) / (sxx * syy);
  return { slope, intercept, r2, predict: (x) => intercept + slope * x };
}
