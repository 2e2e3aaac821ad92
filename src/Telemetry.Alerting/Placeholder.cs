namespace Telemetry.Alerting;
