using System.Runtime.CompilerServices;

namespace RelayKit.Tests.Shared;

/// <summary>
/// Settings for the whole test process. Many test hosts (WebApplicationFactory, Kestrel) start in
/// parallel; each would watch its appsettings files with inotify, and the default per-user limit (128
/// instances) runs out, failing unrelated tests. Polling file watchers use no inotify instance.
/// </summary>
internal static class TestProcessSetup
{
#pragma warning disable CA2255 // A module initializer is the one place that runs before any test host is built.
    [ModuleInitializer]
#pragma warning restore CA2255
    public static void Initialize()
    {
        Environment.SetEnvironmentVariable("DOTNET_USE_POLLING_FILE_WATCHER", "true");
    }
}
