export function SimulatedBanner() {
  return (
    <div className="simulated-banner" role="status" data-testid="simulated-banner">
      SIMULATED LINE — devices are simulated, nothing is provisioned for real
    </div>
  );
}
