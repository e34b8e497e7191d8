namespace RelayKit.Testing;

/// <summary>
/// When a cassette records and when it replays, with vcrpy's semantics. The environment variable
/// named by <see cref="CassetteOptions.ModeOverrideVariable"/> (<c>RELAYKIT_CASSETTE_MODE</c> by default)
/// overrides the mode a test sets, so CI can run <see cref="None"/> whatever the test says.
/// </summary>
public enum CassetteRecordMode
{
    /// <summary>Replay only. A request with no recorded answer is an error that shows the closest recorded request and how it differs.</summary>
    None,

    /// <summary>Record every request when the cassette file does not exist yet; once it exists, behave as <see cref="None"/>.</summary>
    Once,

    /// <summary>Replay what is recorded and record (append) what is not.</summary>
    NewEpisodes,

    /// <summary>Never replay: forward every request to the real upstream and rewrite the cassette with what this run recorded.</summary>
    All,
}
