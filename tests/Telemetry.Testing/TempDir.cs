namespace Telemetry.Testing;

/// <summary>A temporary folder that is removed on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir(string prefix = "tt")
    {
        Path = Directory.CreateTempSubdirectory(prefix + "-").FullName;
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // best effort: a process may still hold a file
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
