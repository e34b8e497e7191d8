namespace RelayKit.AspNetCore;

/// <summary>
/// The relay's configuration, bound from the <c>ModelRelay</c> section by default: the upstream
/// providers, the models callers may ask for, and the relay keys callers authenticate with.
/// </summary>
public sealed class ModelRelayOptions
{
    /// <summary>The configuration section the parameterless <c>AddModelRelay()</c> binds.</summary>
    public const string SectionName = "ModelRelay";

    /// <summary>
    /// Whether the relay runs. When <see langword="false"/>, <c>MapModelRelay</c> maps no endpoint and
    /// logs that the relay is off, and nothing else is validated, so production can turn it off with one setting.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The upstream providers by name (the name is what <see cref="ModelRelayModelOptions.Provider"/> refers to).</summary>
    public IDictionary<string, ModelRelayProviderOptions> Providers { get; } =
        new Dictionary<string, ModelRelayProviderOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The models callers may ask for, by the name callers use. A name may be an alias of an upstream
    /// model (see <see cref="ModelRelayModelOptions.UpstreamModel"/>) or a wildcard pattern such as <c>gpt-*</c>.
    /// </summary>
    public IDictionary<string, ModelRelayModelOptions> Models { get; } =
        new Dictionary<string, ModelRelayModelOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The relay keys callers authenticate with.</summary>
    public IList<ModelRelayKeyOptions> Keys { get; } = new List<ModelRelayKeyOptions>();

    /// <summary>The operations API's settings (<c>ModelRelay:Admin</c>); used once <c>AddAdmin()</c> is called.</summary>
    public ModelRelayAdminOptions Admin { get; } = new();

    /// <summary>Retries, fallbacks and breakers for models with several upstreams (<c>ModelRelay:Resilience</c>).</summary>
    public ModelRelayResilienceOptions Resilience { get; } = new();

    /// <summary>The largest request body the relay accepts, in bytes; larger requests get 413. Default 8 MiB.</summary>
    public long MaxRequestBodySize { get; set; } = 8 * 1024 * 1024;

    /// <summary>How long the relay waits to connect to an upstream before answering 502. Default 10 seconds.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long the relay waits for an upstream to start its response (status and headers) before
    /// answering 504, and for each next part of a response under way before cutting it. A non-streaming completion
    /// only starts when it is complete, so this is long. Default 10 minutes.
    /// </summary>
    public TimeSpan UpstreamTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Where key balances are kept (section <c>ModelRelay:Budgets</c>); SQLite file by default.</summary>
    public Budgets.BudgetStorageOptions Budgets { get; } = new();
}
