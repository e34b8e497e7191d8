using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using RelayKit.Testing.Cassettes;
using RelayKit.Testing.Protocols.Anthropic;
using RelayKit.Testing.Protocols.OpenAI;

namespace RelayKit.Testing;

/// <summary>
/// A cassette in use by a <see cref="FakeUpstream"/> (see <see cref="FakeUpstream.Cassette"/>): it answers
/// every request, replaying a recorded answer or, as its <see cref="Mode"/> allows, forwarding the request
/// to the real upstream and recording the answer. Read it after a test to see what was replayed,
/// recorded or missed.
/// </summary>
public sealed class Cassette : IDisposable
{
    // One writer at a time per cassette file in this process, across every FakeUpstream using it: each write merges
    // with what the file holds then, so cassettes recording into one file at once (test classes run in parallel)
    // keep each other's interactions.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> FileWriters = new(StringComparer.Ordinal);

    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _writing;
    private readonly List<Entry> _entries = [];
    private readonly List<RecordedInteraction> _unwritten = [];

    // Mode All: the file's interactions as found, which this run's recordings replace (others' of this run stay).
    private readonly HashSet<string>? _replaced;
    private readonly List<CassetteMiss> _misses = [];
    private readonly CassetteOptions _options;
    private readonly CassetteMatcher _matcher;
    private readonly CassetteRedactor _redactor;
    private readonly CassetteReplayer _replayer;
    private readonly CassetteRecorder? _recorder;
    private readonly TimeProvider _time;
    private readonly bool _replays;
    private readonly bool _records;
    private readonly int _loaded;
    private int _replayed;
    private int _recorded;

    internal Cassette(CassetteOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _time = time;
        Name = options.Name;
        FilePath = options.FilePath;
        Mode = ResolveMode(options);
        _matcher = new CassetteMatcher(options);
        _redactor = new CassetteRedactor(options);
        _replayer = new CassetteReplayer(time, options.Speed);

        _writing = FileWriters.GetOrAdd(Path.GetFullPath(FilePath), static _ => new SemaphoreSlim(1, 1));
        var loaded = CassetteFile.Load(FilePath);
        FileExisted = loaded is not null;
        if (Mode == CassetteRecordMode.All && loaded is not null)
        {
            _replaced = [.. loaded.Select(Identity)];
        }
        (_replays, _records) = Mode switch
        {
            CassetteRecordMode.None => (true, false),
            CassetteRecordMode.Once => (FileExisted, !FileExisted),
            CassetteRecordMode.NewEpisodes => (true, true),
            _ => (false, true),
        };

        // All re-records: the file is rewritten with this run's interactions only.
        if (Mode != CassetteRecordMode.All && loaded is not null)
        {
            _entries.AddRange(loaded.Select(i => new Entry(i, CassetteMatcher.Key(_matcher.Normalize(i.Request)), Played: false)));
            _loaded = loaded.Count;
        }

        if (_records && options.RecordFrom is { } upstream)
        {
            _recorder = new CassetteRecorder(upstream, options.RecordHandler, time, _redactor);
        }
    }

    /// <summary>The cassette's name.</summary>
    public string Name { get; }

    /// <summary>The cassette file's full path.</summary>
    public string FilePath { get; }

    /// <summary>The mode in effect: the configured one, or the environment variable's when it is set.</summary>
    public CassetteRecordMode Mode { get; }

    /// <summary>Whether the cassette file existed when the fake started.</summary>
    public bool FileExisted { get; }

    /// <summary>How many recorded interactions the cassette holds now (loaded and newly recorded).</summary>
    public int InteractionCount
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>How many requests were answered from recordings.</summary>
    public int ReplayedCount => Volatile.Read(ref _replayed);

    /// <summary>How many requests were forwarded to the real upstream and recorded.</summary>
    public int RecordedCount => Volatile.Read(ref _recorded);

    /// <summary>Whether every interaction loaded from the file has been replayed.</summary>
    public bool AllPlayed
    {
        get
        {
            lock (_gate)
            {
                return _entries.Take(_loaded).All(e => e.Played);
            }
        }
    }

    /// <summary>The requests the cassette could not answer, with the closest recorded request and the differences.</summary>
    public IReadOnlyList<CassetteMiss> Misses
    {
        get
        {
            lock (_gate)
            {
                return [.. _misses];
            }
        }
    }

    /// <summary>Reads a mode name as the environment variable and the sample's <c>--mode</c> accept it.</summary>
    /// <param name="text"><c>none</c>, <c>once</c>, <c>new_episodes</c> (or <c>new-episodes</c>, <c>newepisodes</c>) or <c>all</c>, in any case.</param>
    public static CassetteRecordMode ParseMode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().Replace("_", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal).ToLowerInvariant() switch
        {
            "none" => CassetteRecordMode.None,
            "once" => CassetteRecordMode.Once,
            "newepisodes" => CassetteRecordMode.NewEpisodes,
            "all" => CassetteRecordMode.All,
            _ => throw new FormatException($"Unknown cassette mode '{text}': use none, once, new_episodes or all."),
        };
    }

    /// <summary>Releases the connection to the real upstream.</summary>
    public void Dispose()
    {
        _recorder?.Dispose();
    }

    /// <summary>Answers one request: replay a recording, or record, or explain the miss.</summary>
    internal async Task AnswerAsync(HttpContext context, FakeRequest request)
    {
        var query = context.Request.QueryString.Value ?? "";
        var recordedRequest = new RecordedRequest(
            request.Method,
            request.Path,
            _redactor.Query(query),
            _redactor.Headers(context.Request.Headers.Select(h => KeyValuePair.Create(h.Key, h.Value.ToString()))),
            _redactor.Body(request.Body),
            request.Body is null && request.RawBody.Length > 0 ? request.RawBody : null);
        var normalized = _matcher.Normalize(recordedRequest);
        var key = CassetteMatcher.Key(normalized);

        if (_replays && Claim(key, request.IsStreaming) is { } hit)
        {
            request.AnsweredBy = $"cassette {Name}: replayed interaction #{hit.Index + 1}";
            Interlocked.Increment(ref _replayed);
            await _replayer.ReplayAsync(context, request, hit.Interaction.Response);
            return;
        }

        if (_records)
        {
            await RecordAsync(context, request, recordedRequest, key, query);
            return;
        }

        var miss = DescribeMiss(request, normalized, key);
        lock (_gate)
        {
            _misses.Add(miss);
        }

        request.WasUnexpected = true;
        request.AnsweredBy = $"cassette {Name}: no recording";
        await WriteErrorAsync(context, request, 400, miss.Message);
    }

    private async Task RecordAsync(HttpContext context, FakeRequest request, RecordedRequest recordedRequest, string key, string query)
    {
        if (_recorder is null)
        {
            var message = $"RelayKit cassette \"{Name}\" (mode {Mode}) must record {request.Describe()}, but CassetteOptions.RecordFrom " +
                "(--record-from) is not set: give the real upstream's base URL, or replay with mode None.";
            lock (_gate)
            {
                _misses.Add(new CassetteMiss(request.Describe(), message, null, []));
            }

            request.WasUnexpected = true;
            await WriteErrorAsync(context, request, 400, message);
            return;
        }

        var response = await _recorder.ForwardAsync(context, request, query);
        if (response is null)
        {
            var reason = context.Items[typeof(CassetteRecorder)] as string;
            await WriteErrorAsync(context, request, 502,
                $"RelayKit cassette \"{Name}\" could not reach {_recorder.Target(request.Path, query)} to record: {reason}");
            return;
        }

        request.AnsweredBy = $"cassette {Name}: recorded";
        var interaction = new RecordedInteraction(recordedRequest, response, _time.GetUtcNow());
        lock (_gate)
        {
            // Recorded during this run, so it is never replayed in this run: an identical request records its own episode.
            _entries.Add(new Entry(interaction, key, Played: true));
            _unwritten.Add(interaction);
        }

        Interlocked.Increment(ref _recorded);
        await _writing.WaitAsync(CancellationToken.None);
        try
        {
            RecordedInteraction[] mine;
            lock (_gate)
            {
                mine = [.. _unwritten];
                _unwritten.Clear();
            }

            // Another call of this cassette may have written this one already, with its own.
            if (mine.Length > 0)
            {
                // What the file holds now: this run's own earlier writes and any other cassette's on the same file.
                // A file made unreadable meanwhile throws here rather than being overwritten.
                var current = CassetteFile.Load(FilePath) ?? [];
                var kept = _replaced is null ? current : current.Where(i => !_replaced.Contains(Identity(i)));
                await CassetteFile.WriteAsync(FilePath, [.. kept, .. mine], CancellationToken.None);
            }
        }
        finally
        {
            _writing.Release();
        }
    }

    private static string Identity(RecordedInteraction interaction) => interaction.ToJson().ToJsonString();

    private (RecordedInteraction Interaction, int Index)? Claim(string key, bool streaming)
    {
        lock (_gate)
        {
            var candidates = _entries.Select((e, i) => (Entry: e, Index: i)).Where(c => c.Entry.Key == key).ToList();
            if (candidates.Count == 0)
            {
                return null;
            }

            // Identical requests replay in recorded order; a recording in the requested form wins over one that must be converted.
            var unplayed = candidates.Where(c => !c.Entry.Played).ToList();
            var pick = unplayed.Count > 0
                ? unplayed.FirstOrDefault(c => c.Entry.Interaction.Response.IsStream == streaming, unplayed[0])
                : _options.AllowPlaybackRepeats ? candidates[^1] : default;
            if (pick.Entry is null)
            {
                return null;
            }

            _entries[pick.Index] = pick.Entry with { Played = true };
            return (pick.Entry.Interaction, pick.Index);
        }
    }

    private CassetteMiss DescribeMiss(FakeRequest request, JsonObject normalized, string key)
    {
        List<Entry> entries;
        lock (_gate)
        {
            entries = [.. _entries];
        }

        var text = new StringBuilder()
            .Append($"RelayKit cassette \"{Name}\" (mode {Mode}) has no recorded answer for {request.Describe()}.");
        var remedy = $" To record it, run with mode NewEpisodes (or Once with the file deleted) and RecordFrom set; " +
            $"{_options.ModeOverrideVariable ?? "the environment"} may override the mode. Cassette: {FilePath}";
        if (entries.Count == 0)
        {
            text.Append(FileExisted ? " The cassette file holds no interactions." : " The cassette file does not exist.").Append(remedy);
            return new CassetteMiss(request.Describe(), text.ToString(), null, []);
        }

        var exact = entries.Select((e, i) => (e, i)).Where(x => x.e.Key == key).Select(x => x.i + 1).ToList();
        if (exact.Count > 0)
        {
            text.Append($" Identical recorded interaction(s) #{string.Join(", #", exact)} were already replayed; identical requests " +
                "replay in recorded order, each once (set AllowPlaybackRepeats to repeat the last).").Append(remedy);
            return new CassetteMiss(request.Describe(), text.ToString(), entries[exact[^1] - 1].Interaction.Request.Describe(), []);
        }

        var (closest, index, differences) = entries
            .Select((e, i) =>
            {
                var recorded = _matcher.Normalize(e.Interaction.Request);
                var diff = CassetteMatcher.Diff(recorded, normalized);
                var distance = diff.Count + (diff.Any(d => d.StartsWith("method:", StringComparison.Ordinal) || d.StartsWith("path:", StringComparison.Ordinal)) ? 1000 : 0);
                return (Entry: e, Index: i, Diff: diff, Distance: distance);
            })
            .OrderBy(c => c.Distance)
            .ThenBy(c => c.Index)
            .Select(c => (c.Entry, c.Index, c.Diff))
            .First();
        text.Append($"\nClosest recorded request: #{index + 1} {closest.Interaction.Request.Describe()}. Differences (recorded, then received):");
        foreach (var line in differences)
        {
            text.Append("\n  ").Append(line);
        }

        text.Append('\n').Append(remedy.TrimStart());
        return new CassetteMiss(request.Describe(), text.ToString(), closest.Interaction.Request.Describe(), differences);
    }

    private static Task WriteErrorAsync(HttpContext context, FakeRequest request, int status, string message)
    {
        JsonObject body;
        if (request.WireFormat == FakeWireFormat.Anthropic)
        {
            body = AnthropicErrorBody.Create(AnthropicErrorBody.TypeFor(status), message, context.Response.Headers["request-id"].ToString());
        }
        else
        {
            var (type, code) = OpenAIErrorBody.For(status);
            body = OpenAIErrorBody.Create(message, type, null, code);
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(body.ToJsonString(CassetteJson.Compact), context.RequestAborted);
    }

    private static CassetteRecordMode ResolveMode(CassetteOptions options) =>
        options.ModeOverrideVariable is { Length: > 0 } variable && Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? ParseMode(value)
            : options.Mode;

    private sealed record Entry(RecordedInteraction Interaction, string Key, bool Played);
}
