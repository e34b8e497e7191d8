namespace RelayKit.Tests.Shared;

/// <summary>
/// Key-shaped strings for tests of redaction and secret scanning, made at run time so that no
/// committed file holds a literal that looks like a real API key.
/// </summary>
internal static class TestSecrets
{
    /// <summary>A key with the provider's prefix (<c>sk-proj</c>, <c>sk-ant-api03</c>, <c>rk-live</c>) and a body long enough to look real.</summary>
    public static string Key(string prefix, string name) =>
        string.Concat(prefix, "-", "TESTONLY", name, new string('x', Math.Max(0, 24 - name.Length)));
}
