using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Storage;

namespace RelayKit.AspNetCore.Tests.Storage;

public sealed class RelayFilesTests
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), "relaykit-tests", "files-" + Guid.NewGuid().ToString("N"));
    private static readonly string ContentRoot = Path.Combine(Root, "app");
    private static readonly string AppData = Path.Combine(Root, "appdata");

    [Fact]
    public void An_unset_path_lies_in_the_per_user_data_folder_of_the_application_outside_the_content_root()
    {
        var files = Files(out var log);

        var path = files.Resolve(null, RelayStores.DefaultLedgerFile);

        Assert.Equal(Path.Combine(AppData, "RelayKit", "My.App", "budgets.db"), path);
        Assert.Empty(log.GetSnapshot());
    }

    [Fact]
    public void A_relative_path_is_relative_to_the_content_root_and_is_warned_about_once()
    {
        var files = Files(out var log);

        var first = files.Resolve("data/budgets.db", RelayStores.DefaultLedgerFile);
        var second = files.Resolve("data/budgets.db", RelayStores.DefaultLedgerFile);

        Assert.Equal(Path.Combine(ContentRoot, "data", "budgets.db"), first);
        Assert.Equal(first, second);
        var warning = Assert.Single(log.GetSnapshot());
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("lies in the content root", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_absolute_path_outside_the_content_root_is_kept_without_a_warning()
    {
        var files = Files(out var log);
        var elsewhere = Path.Combine(Root, "elsewhere", "usage.db");

        Assert.Equal(elsewhere, files.Resolve(elsewhere, RelayStores.DefaultUsageFile));
        Assert.Empty(log.GetSnapshot());
    }

    [Theory]
    [InlineData(BudgetStoreKind.Sqlite, null, "RelayKit/My.App/budgets.settle-spool.db")]
    [InlineData(BudgetStoreKind.PostgreSql, null, "RelayKit/My.App/settle-spool.db")]
    [InlineData(BudgetStoreKind.PostgreSql, "spool/settle.db", "app/spool/settle.db")]
    [InlineData(BudgetStoreKind.InMemory, null, null)]
    public void The_settle_spool_lies_beside_the_ledger_or_in_the_data_folder(BudgetStoreKind store, string? configured, string? expected)
    {
        var files = Files(out _);

        var path = RelayStores.SpoolFile(files, new BudgetStorageOptions { Store = store, SettleSpoolPath = configured });

        if (expected is null)
        {
            Assert.Null(path);
        }
        else
        {
            Assert.EndsWith(expected.Replace('/', Path.DirectorySeparatorChar), path, StringComparison.Ordinal);
            Assert.StartsWith(Root, path, StringComparison.Ordinal);
        }
    }

    private static RelayFiles Files(out FakeLogCollector log)
    {
        var logger = new FakeLogger<RelayFiles>();
        log = logger.Collector;
        return new RelayFiles(new Environment(), logger, AppData);
    }

    private sealed class Environment : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Production";

        public string ApplicationName { get; set; } = "My.App";

        public string ContentRootPath { get; set; } = ContentRoot;

        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
