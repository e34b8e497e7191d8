using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace RelayKit.AspNetCore.Storage;

/// <summary>
/// Where the relay's files go (the SQLite ledger and created keys, usage records, the settle spool). Unset, a file lives
/// in the per-user application data folder, <c>LocalApplicationData/RelayKit/&lt;ApplicationName&gt;/</c>, as ASP.NET Core
/// Data Protection keeps its keys: never in the content root, which the host watches for appsettings.json changes, so
/// that no write wakes the watcher. A configured relative path is relative to the content root; a configured file inside
/// the content root is warned about once.
/// </summary>
internal sealed partial class RelayFiles
{
    private readonly string _contentRoot;
    private readonly string _applicationName;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, bool> _warned = new(StringComparer.Ordinal);

    /// <param name="environment">The host's environment; without one (a bare service container), the current directory and the entry assembly's name.</param>
    /// <param name="logger">Where the warning about a file in the content root goes.</param>
    /// <param name="localApplicationData">The per-user data folder; unset, <see cref="Environment.SpecialFolder.LocalApplicationData"/>.</param>
    public RelayFiles(IHostEnvironment? environment, ILogger<RelayFiles>? logger = null, string? localApplicationData = null)
    {
        _contentRoot = Path.GetFullPath(environment?.ContentRootPath is { Length: > 0 } root ? root : Directory.GetCurrentDirectory());
        _applicationName = environment?.ApplicationName is { Length: > 0 } name ? name : Assembly.GetEntryAssembly()?.GetName().Name ?? "app";
        _logger = logger ?? (ILogger)NullLogger.Instance;
        var data = localApplicationData ?? Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);

        // No per-user folder (a service account without a home): the content root, as before, and the warning says so.
        DefaultFolder = string.IsNullOrEmpty(data)
            ? _contentRoot
            : Path.Combine(data, "RelayKit", SafeName(_applicationName));
    }

    /// <summary>The relay's files for the host of <paramref name="services"/>.</summary>
    public static RelayFiles Create(IServiceProvider services) =>
        new(services.GetService<IHostEnvironment>(), services.GetService<ILogger<RelayFiles>>());

    /// <summary>The folder of files whose path is not configured: <c>LocalApplicationData/RelayKit/&lt;ApplicationName&gt;</c>.</summary>
    public string DefaultFolder { get; }

    /// <summary>
    /// The full path of a file: <paramref name="configured"/> (relative to the content root) when set, otherwise
    /// <paramref name="defaultName"/> in <see cref="DefaultFolder"/>. Warns once when the file lies in the content root.
    /// </summary>
    public string Resolve(string? configured, string defaultName)
    {
        var path = string.IsNullOrWhiteSpace(configured)
            ? Path.Combine(DefaultFolder, defaultName)
            : Path.GetFullPath(configured, _contentRoot);
        WarnIfInContentRoot(path);
        return path;
    }

    /// <summary>Warns once per file when <paramref name="path"/> lies in the content root.</summary>
    public void WarnIfInContentRoot(string path)
    {
        var full = Path.GetFullPath(path);
        var root = Path.EndsInDirectorySeparator(_contentRoot) ? _contentRoot : _contentRoot + Path.DirectorySeparatorChar;
        if (full.StartsWith(root, OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal)
            && _warned.TryAdd(full, true))
        {
            FileInContentRoot(_logger, full, _contentRoot);
        }
    }

    private static string SafeName(string name)
    {
        var invalid = Path.GetInvalidFileNameChars();
        return string.Concat(name.Select(c => Array.IndexOf(invalid, c) >= 0 ? '_' : c));
    }

    [LoggerMessage(8001, LogLevel.Warning, "The relay's file {Path} lies in the content root {ContentRoot}, which the host watches for configuration changes: every write wakes the watcher and slows the relay. Configure a path outside it, or leave the path unset for the per-user data folder.")]
    private static partial void FileInContentRoot(ILogger logger, string path, string contentRoot);
}
