using System.Reflection;
using System.Text.Json;
using Telemetry.Alerting;
using Telemetry.Ingestion.Configuration;

namespace Telemetry.Ingestion.Tests;

/// <summary>Every option the service reads is in the shipped appsettings.json, with its default.</summary>
public sealed class AppSettingsCompletenessTests
{
    [Fact]
    public void ShippedAppSettings_ListsEverySettableOption()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "appsettings.json")));
        var missing = new List<string>();
        foreach (var (type, section) in new (Type, string)[]
        {
            (typeof(MqttOptions), MqttOptions.Section), (typeof(InfluxOptions), InfluxOptions.Section),
            (typeof(SpoolOptions), SpoolOptions.Section), (typeof(IngestionOptions), IngestionOptions.Section),
            (typeof(AlertingOptions), AlertingOptions.Section), (typeof(EmailOptions), AlertingOptions.Section + ":Email"),
        })
        {
            var node = section.Split(':').Aggregate(doc.RootElement, (e, k) => e.GetProperty(k));
            foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
            {
                if (!node.TryGetProperty(p.Name, out _))
                {
                    missing.Add($"{section}:{p.Name}");
                }
            }
        }
        Assert.Empty(missing);
    }
}
