using System.ClientModel;
using System.ClientModel.Primitives;
using Anthropic;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using OpenAI;

namespace RelayKit.AspNetCore.Tests.TestHost;

/// <summary>
/// An ASP.NET Core app with nothing but <c>AddModelRelay()</c> and <c>MapModelRelay(prefix)</c>, hosted
/// by <see cref="WebApplicationFactory{TEntryPoint}"/>, with every log line captured so tests can check
/// that no secret is ever logged.
/// </summary>
public sealed class RelayApp(
    IDictionary<string, string?> settings,
    Action<IModelRelayBuilder>? configureRelay = null,
    Action<IServiceCollection>? configureServices = null,
    string prefix = "",
    Action<IEndpointConventionBuilder>? conventions = null) : WebApplicationFactory<RelayApp>
{
    /// <summary>Every log record the app wrote.</summary>
    public FakeLogCollector Logs => Services.GetRequiredService<FakeLogCollector>();

    /// <summary>The relay's base URL as OpenAI clients take it.</summary>
    public Uri OpenAiEndpoint => new(Server.BaseAddress, prefix.Trim('/') is { Length: > 0 } p ? p + "/v1" : "v1");

    /// <summary>The relay's base URL as Anthropic clients take it.</summary>
    public Uri AnthropicEndpoint => new(Server.BaseAddress, prefix.Trim('/') is { Length: > 0 } p ? p + "/" : "");

    public OpenAIClient CreateOpenAiClient(string key) => new(new ApiKeyCredential(key), new OpenAIClientOptions
    {
        Endpoint = OpenAiEndpoint,
        Transport = new HttpClientPipelineTransport(CreateClient()),
        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
    });

    public AnthropicClient CreateAnthropicClient(string key) => new()
    {
        ApiKey = key,
        BaseUrl = AnthropicEndpoint.AbsoluteUri.TrimEnd('/'),
        HttpClient = CreateClient(),
        MaxRetries = 0,
    };

    // The app has no project folder of its own: its content root is the test output.
    protected override void ConfigureWebHost(IWebHostBuilder builder) => builder.UseContentRoot(AppContext.BaseDirectory);

    protected override IHostBuilder CreateHostBuilder() =>
        Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.ClearProviders().AddFakeLogging().SetMinimumLevel(LogLevel.Trace))
            .ConfigureWebHost(web => web
                .ConfigureAppConfiguration(config => config.AddInMemoryCollection(settings))
                .ConfigureServices(services =>
                {
                    services.AddRouting();
                    // Both optional stores are available; each test's settings choose whether they are used.
                    var relay = services.AddModelRelay().AddPostgreSqlStorage().AddRedisRateLimits();
                    configureRelay?.Invoke(relay);
                    configureServices?.Invoke(services);
                })
                .Configure(app => app.UseRouting().UseEndpoints(endpoints =>
                {
                    var relay = endpoints.MapModelRelay(prefix);
                    conventions?.Invoke(relay);
                })));
}
