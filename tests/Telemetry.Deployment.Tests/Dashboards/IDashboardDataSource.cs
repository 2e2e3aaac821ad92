using Telemetry.Testing;

namespace Telemetry.Deployment.Tests.Dashboards;

/// <summary>
/// Fills a database with the data every dashboard panel reads: readings of every kind for several sites, tunnels and
/// sensors over the last hour, alert events of every level, rejected input of every reason, and ingest_stats.
/// The seam where the real path (simulator → MQTT → ingestion service → InfluxDB) replaces the line-protocol writer.
/// </summary>
internal interface IDashboardDataSource
{
    /// <summary>Writes the data into <paramref name="database"/> (already created) and returns once it is queryable.</summary>
    Task SeedAsync(InfluxServer server, string database);
}
