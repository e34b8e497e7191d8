namespace RelayKit.Testing.Tests.Cassettes;

/// <summary>A temporary folder of cassettes for one test, deleted afterwards.</summary>
internal sealed class CassetteFolder : IDisposable
{
    public CassetteFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "relaykit-cassettes-" + Guid.NewGuid().ToString("N"));

    /// <summary>
    /// Options for a cassette in this folder. The environment override is off so CI's
    /// RELAYKIT_CASSETTE_MODE=none cannot turn these recording tests into replay-only ones.
    /// </summary>
    public CassetteOptions Options(string name, CassetteRecordMode mode, Uri? recordFrom = null) => new()
    {
        Directory = Path,
        Name = name,
        Mode = mode,
        RecordFrom = recordFrom,
        ModeOverrideVariable = null,
    };

    public string FileOf(string name) => System.IO.Path.Combine(Path, name + ".json");

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
