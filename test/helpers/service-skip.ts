// Whether a test that needs a local service (Chromium, socat) may skip. On a developer's machine a
// missing service skips with the reason; in CI (`CI=true`, where .ci/run installs everything) nothing
// skips: the test runs and fails, so a broken CI image cannot pass by running less.
export function serviceSkip(reason: string, present: boolean): string | false {
  if (present || process.env.CI === 'true') return false;
  return reason;
}
