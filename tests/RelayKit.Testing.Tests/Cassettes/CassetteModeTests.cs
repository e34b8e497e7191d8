using System.Text.Json.Nodes;
using static RelayKit.Testing.Tests.Cassettes.CassetteHttp;

namespace RelayKit.Testing.Tests.Cassettes;

public sealed class CassetteModeTests : IAsyncLifetime
{
    private readonly CassetteFolder _folder = new();
    private readonly FakeUpstream _upstream = new();
    private Uri _address = null!;

    public async Task InitializeAsync()
    {
        _upstream.Setup().RespondWith(r => FakeReply.WithText($"live answer #{r.Sequence}"));
        _address = await _upstream.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _folder.Dispose();
    }

    [Fact]
    public async Task None_replays_a_hit_and_refuses_a_miss_without_calling_the_upstream()
    {
        await SeedAsync("none");
        await using var fake = Fake("none", CassetteRecordMode.None);
        Assert.Equal("live answer #1", await AskAsync(fake, "seeded"));
        Assert.Equal(400, (await SendJsonAsync(fake.CreateClient(), Post("/v1/chat/completions", Chat("new question")))).Status);
        Assert.Single(_upstream.Requests);
        Assert.Single(fake.Cassette!.Misses);
    }

    [Fact]
    public async Task None_without_a_file_says_so()
    {
        await using var fake = Fake("missing", CassetteRecordMode.None);
        var miss = await SendJsonAsync(fake.CreateClient(), Post("/v1/chat/completions", Chat("anything")));
        Assert.Equal(400, miss.Status);
        Assert.Contains("The cassette file does not exist", (string)miss.Body!["error"]!["message"]!, StringComparison.Ordinal);
        Assert.False(File.Exists(_folder.FileOf("missing")));
    }

    [Theory]
    [InlineData(CassetteRecordMode.None)]
    [InlineData(CassetteRecordMode.Once)]
    public async Task A_file_without_interactions_is_a_miss_that_says_so_not_a_crash(CassetteRecordMode mode)
    {
        await File.WriteAllTextAsync(_folder.FileOf("empty"), """{"version":1,"interactions":[]}""");
        await using var fake = Fake("empty", mode);

        var miss = await SendJsonAsync(fake.CreateClient(), Post("/v1/chat/completions", Chat("anything")));

        Assert.Equal(400, miss.Status);
        Assert.Contains("The cassette file holds no interactions", (string)miss.Body!["error"]!["message"]!, StringComparison.Ordinal);
        Assert.Empty(_upstream.Requests);
    }

    [Fact]
    public async Task Once_records_everything_into_a_new_file_then_behaves_as_none()
    {
        await using (var first = Fake("once", CassetteRecordMode.Once))
        {
            Assert.False(first.Cassette!.FileExisted);
            Assert.Equal("live answer #1", await AskAsync(first, "seeded"));
            Assert.Equal("live answer #2", await AskAsync(first, "seeded"));
            Assert.Equal(2, first.Cassette.RecordedCount);
        }

        await using var second = Fake("once", CassetteRecordMode.Once);
        Assert.True(second.Cassette!.FileExisted);
        Assert.Equal("live answer #1", await AskAsync(second, "seeded"));
        Assert.Equal("live answer #2", await AskAsync(second, "seeded"));
        Assert.Equal(400, (await SendJsonAsync(second.CreateClient(), Post("/v1/chat/completions", Chat("new question")))).Status);
        Assert.Equal(2, _upstream.Requests.Count);
        Assert.Equal(2, Interactions("once").Count);
    }

    [Fact]
    public async Task NewEpisodes_replays_hits_and_records_misses_into_the_same_file()
    {
        await SeedAsync("episodes");
        await using (var fake = Fake("episodes", CassetteRecordMode.NewEpisodes))
        {
            Assert.Equal("live answer #1", await AskAsync(fake, "seeded"));
            Assert.Equal("live answer #2", await AskAsync(fake, "new question"));
            Assert.Equal((1, 1), (fake.Cassette!.ReplayedCount, fake.Cassette.RecordedCount));
        }

        Assert.Equal(2, _upstream.Requests.Count);
        var interactions = Interactions("episodes");
        Assert.Equal(["seeded", "new question"], interactions.Select(i => (string?)i!["request"]!["body"]!["messages"]![0]!["content"]));
    }

    [Fact]
    public async Task All_forwards_even_recorded_requests_and_rewrites_the_file_with_this_run()
    {
        await SeedAsync("all");
        await using (var fake = Fake("all", CassetteRecordMode.All))
        {
            Assert.Equal("live answer #2", await AskAsync(fake, "seeded"));
            Assert.Equal("live answer #3", await AskAsync(fake, "other"));
            Assert.Equal((0, 2), (fake.Cassette!.ReplayedCount, fake.Cassette.RecordedCount));
        }

        var interactions = Interactions("all");
        Assert.Equal(2, interactions.Count);
        Assert.Equal("live answer #2", (string?)interactions[0]!["response"]!["body"]!["choices"]![0]!["message"]!["content"]);
    }

    [Fact]
    public async Task Recording_without_a_record_from_url_is_an_explained_error()
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Cassette = _folder.Options("no-url", CassetteRecordMode.NewEpisodes) });
        var answer = await SendJsonAsync(fake.CreateClient(), Post("/v1/chat/completions", Chat("hi")));
        Assert.Equal(400, answer.Status);
        Assert.Contains("RecordFrom", (string)answer.Body!["error"]!["message"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_upstream_answers_502_and_records_nothing()
    {
        var closed = new FakeUpstream();
        var address = await closed.StartAsync();
        await closed.DisposeAsync();
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Cassette = _folder.Options("down", CassetteRecordMode.Once, address) });
        var answer = await SendJsonAsync(fake.CreateClient(), Post("/v1/chat/completions", Chat("hi")));
        Assert.Equal(502, answer.Status);
        Assert.Contains("could not reach", (string)answer.Body!["error"]!["message"]!, StringComparison.Ordinal);
        Assert.False(File.Exists(_folder.FileOf("down")));
    }

    [Fact]
    public async Task An_upstream_that_times_out_while_recording_answers_502_and_records_nothing()
    {
        var options = _folder.Options("slow", CassetteRecordMode.Once, _address);
        options.RecordHandler = new TimingOutHandler();
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Cassette = options });

        var answer = await SendJsonAsync(fake.CreateClient(), Post("/v1/chat/completions", Chat("hi")));

        Assert.Equal(502, answer.Status);
        Assert.Contains("could not reach", (string)answer.Body!["error"]!["message"]!, StringComparison.Ordinal);
        Assert.Contains("timed out", (string)answer.Body!["error"]!["message"]!, StringComparison.Ordinal);
        Assert.False(File.Exists(_folder.FileOf("slow")));
    }

    [Fact]
    public async Task Two_fakes_recording_into_one_cassette_at_once_keep_each_others_interactions()
    {
        await SeedAsync("shared");
        await using (var a = Fake("shared", CassetteRecordMode.NewEpisodes))
        await using (var b = Fake("shared", CassetteRecordMode.NewEpisodes))
        {
            await Task.WhenAll(Enumerable.Range(0, 10).Select(i => AskAsync(i % 2 == 0 ? a : b, $"question {i}")));
        }

        await using var replayer = Fake("shared", CassetteRecordMode.None);
        Assert.Equal(11, replayer.Cassette!.InteractionCount);
        foreach (var question in Enumerable.Range(0, 10).Select(i => $"question {i}").Append("seeded"))
        {
            Assert.StartsWith("live answer #", await AskAsync(replayer, question), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Two_fakes_re_recording_one_cassette_replace_what_it_held_and_keep_both_of_theirs()
    {
        await SeedAsync("rerecorded");
        await using (var a = Fake("rerecorded", CassetteRecordMode.All))
        await using (var b = Fake("rerecorded", CassetteRecordMode.All))
        {
            await AskAsync(a, "from a");
            await AskAsync(b, "from b");
        }

        var text = await File.ReadAllTextAsync(_folder.FileOf("rerecorded"));
        Assert.Contains("from a", text, StringComparison.Ordinal);
        Assert.Contains("from b", text, StringComparison.Ordinal);
        Assert.DoesNotContain("seeded", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"version":1,"interactions":[{"request":{"method":"POST","path":"/v1/chat/completions"},"response":{"Status":500}}]}""", "interaction #1 response has an unknown field \"Status\"")]
    [InlineData("""{"version":1,"interactions":[{"request":{"method":"POST","path":"/v1/chat/completions"},"response":{"body":{}}}]}""", "interaction #1 response needs \"status\"")]
    [InlineData("""{"version":1,"interactions":[{"request":{"method":"POST","path":"/v1/chat/completions"},"response":{"status":200,"events":[1,2]}}]}""", "events[0] is not an object")]
    [InlineData("""{"version":1,"interactions":[{"request":{},"response":{"status":200}}]}""", "interaction #1 request needs \"method\"")]
    [InlineData("""{"version":"7","interactions":[]}""", "needs \"version\" as a whole number")]
    [InlineData("""{"version":1,"comment":"mine","interactions":[]}""", "unknown field \"comment\"")]
    public async Task A_hand_edit_the_cassette_cannot_read_stops_with_the_place_named_and_leaves_the_file_alone(string file, string message)
    {
        await File.WriteAllTextAsync(_folder.FileOf("edited"), file);

        var error = Assert.Throws<InvalidDataException>(() => Fake("edited", CassetteRecordMode.NewEpisodes));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Contains(_folder.FileOf("edited"), error.Message, StringComparison.Ordinal);
        Assert.Equal(file, await File.ReadAllTextAsync(_folder.FileOf("edited")));
    }

    [Fact]
    public async Task The_environment_variable_overrides_the_mode_the_test_sets()
    {
        // A variable of this test's own, so parallel tests never see it; RELAYKIT_CASSETTE_MODE works the same way.
        var variable = "RELAYKIT_TEST_CASSETTE_MODE_" + Guid.NewGuid().ToString("N");
        await SeedAsync("override");
        Environment.SetEnvironmentVariable(variable, "none");
        try
        {
            var options = _folder.Options("override", CassetteRecordMode.All, _address);
            options.ModeOverrideVariable = variable;
            await using var fake = new FakeUpstream(new FakeUpstreamOptions { Cassette = options });
            Assert.Equal(CassetteRecordMode.None, fake.Cassette!.Mode);
            Assert.Equal("live answer #1", await AskAsync(fake, "seeded"));
            Assert.Equal(400, (await SendJsonAsync(fake.CreateClient(), Post("/v1/chat/completions", Chat("new question")))).Status);
            Assert.Single(_upstream.Requests);

            Environment.SetEnvironmentVariable(variable, "sometimes");
            Assert.Throws<FormatException>(() => new FakeUpstream(new FakeUpstreamOptions { Cassette = options }));
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }

        Assert.Equal(CassetteOptions.DefaultModeOverrideVariable, new CassetteOptions().ModeOverrideVariable);
        Assert.Equal(CassetteRecordMode.NewEpisodes, Cassette.ParseMode("new_episodes"));
        Assert.Equal(CassetteRecordMode.NewEpisodes, Cassette.ParseMode("NewEpisodes"));
    }

    [Fact]
    public void Options_without_a_directory_or_name_are_rejected_at_construction()
    {
        Assert.Throws<ArgumentException>(() => new FakeUpstream(new FakeUpstreamOptions { Cassette = new CassetteOptions { Name = "x" } }));
        Assert.Throws<ArgumentException>(() => new FakeUpstream(new FakeUpstreamOptions { Cassette = new CassetteOptions { Directory = _folder.Path } }));
        Assert.Throws<ArgumentException>(() => new FakeUpstream(new FakeUpstreamOptions { Cassette = new CassetteOptions { Directory = _folder.Path, Name = "../escape" } }));
    }

    private async Task SeedAsync(string name)
    {
        await using var recorder = Fake(name, CassetteRecordMode.Once);
        Assert.Equal("live answer #1", await AskAsync(recorder, "seeded"));
    }

    private FakeUpstream Fake(string name, CassetteRecordMode mode) =>
        new(new FakeUpstreamOptions { Cassette = _folder.Options(name, mode, _address) });

    private static async Task<string?> AskAsync(FakeUpstream fake, string question)
    {
        var answer = await SendJsonAsync(fake.CreateClient(), Post("/v1/chat/completions", Chat(question)));
        Assert.True(answer.Status == 200, answer.Text);
        return (string?)answer.Body!["choices"]![0]!["message"]!["content"];
    }

    private JsonArray Interactions(string name) =>
        JsonNode.Parse(File.ReadAllText(_folder.FileOf(name)))!["interactions"]!.AsArray();

    /// <summary>Fails as HttpClient's timeout does: a cancellation with a TimeoutException inside, the caller still there.</summary>
    private sealed class TimingOutHandler : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromException<HttpResponseMessage>(new TaskCanceledException("The request was canceled.", new TimeoutException("The operation timed out.")));
    }
}
