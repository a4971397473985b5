using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Stefna.Sdk;
using Stefna.Generators.Presets;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Webhooks;

namespace Stefna.Samples.Console;

/// <summary>The <c>stefna</c> command line: generate, submit, status, cancel, feed, worker, presets, migrate.</summary>
internal static partial class CliApp
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = false };

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, bool interactive, CancellationToken cancellationToken, bool stderrIsTerminal = false)
    {
        var g = new GlobalOptions();
        var root = new RootCommand("Stefna SDK sample CLI: AI image generation with pluggable generation types.");
        foreach (var option in g.All)
        {
            root.Options.Add(option);
        }

        var context = new Context(g, stdout, stderr, interactive, stderrIsTerminal);
        var types = StefnaComposition.Types();
        root.Subcommands.Add(GenerateCommand(context, submitOnly: false, types));
        root.Subcommands.Add(GenerateCommand(context, submitOnly: true, types));
        root.Subcommands.Add(StatusCommand(context));
        root.Subcommands.Add(CancelCommand(context));
        root.Subcommands.Add(FeedCommand(context));
        root.Subcommands.Add(WorkerCommand(context));
        root.Subcommands.Add(PresetsCommand(context));
        root.Subcommands.Add(MigrateCommand(context, g));

        var parse = root.Parse(args);
        if (parse.CommandResult.Command is { Action: null, Subcommands.Count: > 0 } group && parse.Action is null or System.CommandLine.Invocation.ParseErrorAction)
        {
            // No command (or a group without its subcommand): the usage of what was typed, then the error line.
            var path = new List<string>();
            for (var result = parse.CommandResult; result.Parent is System.CommandLine.Parsing.CommandResult parent; result = parent)
            {
                path.Insert(0, result.Command.Name);
            }

            await root.Parse([.. path, "--help"]).InvokeAsync(new InvocationConfiguration { Output = new TrimTrailingSpaceWriter(stderr), Error = stderr }, cancellationToken).ConfigureAwait(false);
            var errors = parse.Errors.Select(e => e.Message).DefaultIfEmpty($"Required command was not provided: {group.Name}").ToList();
            return context.Fail(string.Join("; ", errors), 2, "usage", json: parse.GetValue(g.Json));
        }

        if (parse.Errors.Count > 0)
        {
            return context.Fail(string.Join("; ", parse.Errors.Select(e => e.Message)), 2, "usage", json: parse.GetValue(g.Json));
        }

        return await parse.InvokeAsync(new InvocationConfiguration { Output = new TrimTrailingSpaceWriter(stdout), Error = stderr }, cancellationToken).ConfigureAwait(false);
    }

    private static Command GenerateCommand(Context c, bool submitOnly, IReadOnlyList<GenerationTypeDefinition> types)
    {
        var type = new Argument<string>("type") { Description = "The generation type: " + string.Join(", ", types.Select(t => t.Name)) + "." };
        var image = new Option<string?>("--image") { Description = "Source image: a file path or an http(s) URL." };
        var prompt = new Option<string?>("--prompt") { Description = "A prompt." };
        var preset = new Option<string?>("--preset") { Description = "A preset or choice key of the type (a type's own option below wins over it)." };
        var tags = new Option<string[]>("--tag") { Description = "Extra tag (repeatable).", AllowMultipleArgumentsPerToken = false };
        var user = UserOption();
        var key = new Option<string?>("--idempotency-key") { Description = "Makes a repeated submit return the same job." };
        var webhook = HttpUrl(new Option<string?>("--webhook") { Description = "Deliver the job's completion event to this URL, signed per Standard Webhooks with the secret in STEFNA_WEBHOOK_SECRET (whsec_…); a loopback or private address only with --allow-private-urls." });
        var timeout = InRange(new Option<int>("--timeout") { Description = "Seconds to wait for the result (1 to 86400).", DefaultValueFactory = _ => 300 }, 1, 86_400);
        var command = new Command(submitOnly ? "submit" : "generate", (submitOnly ? "Submit a job and print its id." : "Submit a job, run it and print the result.") + Environment.NewLine + DescribeTypes(types))
        {
            type, image, prompt, preset, tags, user, key, webhook,
        };

        // One option per input the registered types declare (--style, --emotion, --reaction, ...); "preset" is --preset.
        var inputs = new List<(string Name, Option<string?> Option)>();
        foreach (var group in types.SelectMany(t => t.Inputs.Select(i => (Type: t, Input: i))).GroupBy(x => x.Input.Name, StringComparer.OrdinalIgnoreCase))
        {
            if (string.Equals(group.Key, "preset", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var option = new Option<string?>("--" + group.Key)
            {
                Description = string.Join("; ", group.Select(x => $"{x.Input.Label} ({x.Type.Name}): {string.Join(", ", x.Input.Choices.Select(ch => ch.Key))}")),
            };
            inputs.Add((group.Key, option));
            command.Options.Add(option);
        }

        if (!submitOnly)
        {
            command.Options.Add(timeout);
        }

        command.SetAction((parse, ct) => c.RunAsync(parse, async (services, json) =>
        {
            var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (name, option) in inputs)
            {
                if (parse.GetValue(option) is { } value)
                {
                    options[name] = value;
                }
            }

            var request = new GenerationRequest
            {
                Type = parse.GetValue(type)!,
                UserId = parse.GetValue(user)!,
                Image = parse.GetValue(image) is { } path ? ImageInput.Parse(path) : null,
                Prompt = parse.GetValue(prompt),
                Preset = parse.GetValue(preset),
                Options = options,
                Tags = parse.GetValue(tags) ?? [],
                IdempotencyKey = parse.GetValue(key),
                WebhookUrl = parse.GetValue(webhook) is { } hook ? new Uri(hook) : null,
            };

            var pipeline = services.GetRequiredService<IGenerationPipeline>();
            if (submitOnly)
            {
                var ticket = await pipeline.SubmitAsync(request, ct).ConfigureAwait(false);
                c.Write(json, new JsonObject { ["id"] = ticket.Id, ["type"] = ticket.Type, ["status"] = ticket.Status.ToName(), ["existing"] = ticket.IsExisting }, ticket.Id.ToString());
                return 0;
            }

            // Run a worker in this process for the duration of the command.
            using var workerStop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var worker = services.GetRequiredService<GenerationWorker>().RunAsync(exitWhenIdle: false, workerStop.Token);
            try
            {
                var submitted = await pipeline.SubmitAsync(request, ct).ConfigureAwait(false);
                var wait = TimeSpan.FromSeconds(parse.GetValue(timeout));
                var job = await c.WithJobProgressAsync(
                    parse.GetValue(c.Global.Verbose),
                    submitted,
                    () => pipeline.WaitForCompletionAsync(submitted.Type, submitted.Id, request.UserId, wait, ct),
                    token => pipeline.GetStatusAsync(submitted.Type, submitted.Id, request.UserId, token),
                    ct).ConfigureAwait(false);
                if (request.WebhookUrl is not null)
                {
                    // Deliver the job's event before exiting (bounded; what is left stays in the outbox for a worker).
                    await DeliverPendingAsync(c, services, Task.CompletedTask, DefaultWebhookDrain, json, ct).ConfigureAwait(false);
                }

                c.WriteJob(json, job);
                return job.Status == GenerationStatus.Completed ? 0 : c.Fail(Describe(job));
            }
            finally
            {
                await workerStop.CancelAsync().ConfigureAwait(false);
                await worker.ConfigureAwait(false);
            }
        }, ct));
        return command;
    }

    private static readonly TimeSpan DefaultWebhookDrain = TimeSpan.FromSeconds(60);

    // Delivers webhooks while `work` runs, then until none is pending or `drain` has passed since the work ended.
    // Returns how many are still pending (left in the outbox for the next worker).
    private static async Task<long> DeliverPendingAsync(Context c, IServiceProvider services, Task work, TimeSpan drain, bool json, CancellationToken cancellationToken)
    {
        var dispatcher = services.GetRequiredService<WebhookDispatcher>();
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _ = work.ContinueWith(_ => bound.CancelAfter(drain), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            await dispatcher.RunUntilIdleAfterAsync(work, bound.Token).ConfigureAwait(false);
            return 0;
        }
        catch (OperationCanceledException) when (bound.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            var pending = (await dispatcher.GetBacklogAsync(cancellationToken).ConfigureAwait(false)).Pending;
            if (!json)
            {
                c.Stderr.WriteLine($"webhooks: {pending} delivery(ies) still pending after {drain.TotalSeconds:0} s; they stay in the outbox for the next worker.");
            }

            return pending;
        }
    }

    // The worker without --exit-when-idle: deliver until Ctrl+C.
    private static async Task<long> RunDeliveryAsync(WebhookDispatcher dispatcher, CancellationToken cancellationToken)
    {
        await dispatcher.RunAsync(exitWhenIdle: false, cancellationToken).ConfigureAwait(false);
        return 0;
    }

    private static Command StatusCommand(Context c)
    {
        var type = new Argument<string>("type") { Description = "The generation type." };
        var id = new Argument<string>("id") { Description = "The job id." };
        var user = UserOption();
        var command = new Command("status", "Show a job's status, error and image URL.") { type, id, user };
        command.SetAction((parse, ct) => c.RunAsync(parse, async (services, json) =>
        {
            var pipeline = services.GetRequiredService<IGenerationPipeline>();
            var jobId = ParseId(parse.GetValue(id)!);
            var job = await pipeline.GetStatusAsync(parse.GetValue(type)!, jobId, parse.GetValue(user)!, ct).ConfigureAwait(false)
                ?? throw new CliException($"No {parse.GetValue(type)} job {jobId} for user '{parse.GetValue(user)}'.", category: "not_found");
            c.WriteJob(json, job);
            return 0;
        }, ct));
        return command;
    }

    private static Command CancelCommand(Context c)
    {
        var type = new Argument<string>("type") { Description = "The generation type." };
        var id = new Argument<string>("id") { Description = "The job id." };
        var user = UserOption();
        var command = new Command("cancel", "Cancel a job that has not finished.") { type, id, user };
        command.SetAction((parse, ct) => c.RunAsync(parse, async (services, json) =>
        {
            var pipeline = services.GetRequiredService<IGenerationPipeline>();
            var jobId = ParseId(parse.GetValue(id)!);
            var job = await pipeline.CancelAsync(parse.GetValue(type)!, jobId, parse.GetValue(user)!, ct).ConfigureAwait(false)
                ?? throw new CliException($"No {parse.GetValue(type)} job {jobId} for user '{parse.GetValue(user)}'.", category: "not_found");
            c.WriteJob(json, job);
            return job.Status == GenerationStatus.Canceled ? 0 : c.Fail($"The job is already {job.Status.ToName()}.");
        }, ct));
        return command;
    }

    private static Command FeedCommand(Context c)
    {
        var type = new Option<string[]>("--type") { Description = "Only this type (repeatable)." };
        var tag = new Option<string?>("--tag") { Description = "Only jobs with this tag." };
        var status = new Option<string?>("--status") { Description = "Only jobs in this status." };
        var limit = InRange(new Option<int>("--limit") { Description = $"Page size (1 to {FeedQuery.MaxLimit}).", DefaultValueFactory = _ => 20 }, 1, FeedQuery.MaxLimit);
        var cursor = new Option<string?>("--cursor") { Description = "The next-page cursor of a previous call." };
        var user = UserOption();
        var command = new Command("feed", "List a user's jobs, newest first, across types.") { type, tag, status, limit, cursor, user };
        command.SetAction((parse, ct) => c.RunAsync(parse, async (services, json) =>
        {
            GenerationStatus? statusFilter = null;
            if (parse.GetValue(status) is { } s)
            {
                statusFilter = GenerationStatusNames.TryParse(s, out var parsed) ? parsed : throw new CliException($"Unknown status '{s}'. Use queued, processing, completed, failed or canceled.");
            }

            var page = await services.GetRequiredService<IGenerationPipeline>().GetFeedAsync(new FeedQuery
            {
                UserId = parse.GetValue(user)!,
                Types = parse.GetValue(type) is { Length: > 0 } t ? t : null,
                Tag = parse.GetValue(tag),
                Status = statusFilter,
                Limit = parse.GetValue(limit),
                Cursor = parse.GetValue(cursor),
            }, ct).ConfigureAwait(false);
            c.WriteFeed(json, page);
            return 0;
        }, ct));
        return command;
    }

    private static Command WorkerCommand(Context c)
    {
        var exitWhenIdle = new Option<bool>("--exit-when-idle") { Description = "Exit once no job is queued or running and no webhook delivery is pending (see --drain-timeout)." };
        var drain = InRange(new Option<int>("--drain-timeout") { Description = "With --exit-when-idle: the most seconds to wait, once the jobs are done, for pending webhook deliveries (they stay in the outbox for the next worker). 1 to 3600.", DefaultValueFactory = _ => (int)DefaultWebhookDrain.TotalSeconds }, 1, 3600);
        var command = new Command("worker", "Process queued jobs and deliver pending webhooks.") { exitWhenIdle, drain };
        command.SetAction((parse, ct) => c.RunAsync(parse, async (services, json) =>
        {
            var worker = services.GetRequiredService<GenerationWorker>();
            var dispatcher = services.GetRequiredService<WebhookDispatcher>();
            if (!json)
            {
                c.Stderr.WriteLine(parse.GetValue(exitWhenIdle) ? "worker: processing until idle…" : "worker: processing jobs (Ctrl+C to stop)…");
            }

            long pending = 0;
            try
            {
                var work = worker.RunAsync(parse.GetValue(exitWhenIdle), ct);
                pending = parse.GetValue(exitWhenIdle)
                    ? await DeliverPendingAsync(c, services, work, TimeSpan.FromSeconds(parse.GetValue(drain)), json, ct).ConfigureAwait(false)
                    : await RunDeliveryAsync(dispatcher, ct).ConfigureAwait(false);
                await work.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Ctrl+C: stop quietly.
            }

            c.Write(
                json,
                new JsonObject { ["processed"] = worker.CompletedRuns, ["webhooksDelivered"] = dispatcher.Delivered, ["webhooksPending"] = pending },
                $"processed {worker.CompletedRuns} job attempt(s), delivered {dispatcher.Delivered} webhook(s)");
            return 0;
        }, ct));
        return command;
    }

    private static Command PresetsCommand(Context c)
    {
        var date = new Option<string?>("--date") { Description = "A date (YYYY-MM-DD, UTC); today when omitted." };
        var command = new Command("presets", "List the professional presets active in a week.") { date };
        command.SetAction((parse, ct) => c.RunAsync(parse, (services, json) =>
        {
            var rotation = services.GetRequiredService<IPresetRotation>();
            PresetWeek week;
            if (parse.GetValue(date) is { } text)
            {
                week = DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
                    ? rotation.GetWeek(day)
                    : throw new CliException($"'{text}' is not a date: use YYYY-MM-DD.");
            }
            else
            {
                week = rotation.GetWeek();
            }

            var node = new JsonObject
            {
                ["week"] = week.Week.ToString(),
                ["weekStart"] = week.Week.Start,
                ["nextRotation"] = week.NextRotation,
                ["active"] = new JsonArray([.. week.Active.Select(p => (JsonNode)new JsonObject { ["key"] = p.Key, ["name"] = p.Name, ["description"] = p.Description })]),
            };
            if (json)
            {
                c.Write(true, node, string.Empty);
                return Task.FromResult(0);
            }

            var table = new Table().AddColumns("key", "name", "description");
            foreach (var preset in week.Active)
            {
                table.AddRow(Markup.Escape(preset.Key), Markup.Escape(preset.Name), Markup.Escape(preset.Description));
            }

            var console = c.Console();
            console.WriteLine($"Professional presets active in {week.Week} (next rotation {week.NextRotation:yyyy-MM-dd HH:mm} UTC):");
            console.Write(table);
            return Task.FromResult(0);
        }, ct));
        return command;
    }

    /// <summary>The registered types for help: each with its inputs, their choices and defaults, from the definitions.</summary>
    internal static string DescribeTypes(IReadOnlyList<GenerationTypeDefinition> types)
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine().AppendLine("Types:");
        foreach (var type in types)
        {
            text.Append("  ").Append(type.Name).Append("  ").Append(type.DisplayName);
            if (type.Description.Length > 0)
            {
                text.Append(": ").Append(type.Description);
            }

            text.AppendLine();
            foreach (var input in type.Inputs)
            {
                text.Append("    --").Append(input.Name).Append(input.Required ? " (required)" : string.Empty)
                    .Append(input.Default is { } d ? $" (default {d})" : string.Empty).Append(": ")
                    .AppendLine(string.Join(", ", input.Choices.Select(ch => ch.Key)));
            }
        }

        return text.ToString().TrimEnd();
    }


    private static Option<string> UserOption() => NotBlank(new Option<string>("--user") { Description = "The user id jobs belong to.", DefaultValueFactory = _ => "local-user" });

    // Every option is checked while the command line is parsed (exit code 2, one "error:" line), so nothing is queued
    // or written on behalf of a command that would fail later on one of its options.
    private static Option<int> InRange(Option<int> option, int min, int max)
    {
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<int>();
            if (value < min || value > max)
            {
                result.AddError(max == int.MaxValue ? $"{option.Name} must be at least {min:N0}." : $"{option.Name} must be from {min:N0} to {max:N0}; got {value:N0}.");
            }
        });
        return option;
    }

    private static Option<string> NotBlank(Option<string> option)
    {
        option.Validators.Add(result =>
        {
            if (string.IsNullOrWhiteSpace(result.GetValueOrDefault<string>()))
            {
                result.AddError($"{option.Name} must not be empty.");
            }
        });
        return option;
    }

    private static Option<string> OneOf(this Option<string> option, params string[] allowed)
    {
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is { } value && !allowed.Contains(value, StringComparer.Ordinal))
            {
                result.AddError($"{option.Name} must be one of {string.Join(", ", allowed)}; got '{value}'.");
            }
        });
        return option;
    }

    private static Option<string?> HttpUrl(Option<string?> option)
    {
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } text && !(Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
            {
                result.AddError($"{option.Name} must be an absolute http(s) URL; got '{text}'.");
            }
        });
        return option;
    }

    private static Guid ParseId(string text) =>
        Guid.TryParse(text, out var id) ? id : throw new CliException($"'{text}' is not a job id (expected a UUID).");

    private static string Describe(GenerationJob job) => job.Error is { } e
        ? $"{job.Type} job {job.Id} {job.Status.ToName()}: {GenerationError.CategoryCode(e.Category)}: {e.Message}"
        : $"{job.Type} job {job.Id} {job.Status.ToName()}.";

    internal static JsonObject ToJson(GenerationJob job)
    {
        var node = new JsonObject
        {
            ["id"] = job.Id,
            ["type"] = job.Type,
            ["status"] = job.Status.ToName(),
            ["imageUrl"] = job.ImageUrl,
            ["prompt"] = job.Prompt,
            ["preset"] = job.Preset,
            ["tags"] = new JsonArray([.. job.Tags.Select(t => (JsonNode)t)]),
            ["attempts"] = job.Attempts,
            ["createdAt"] = job.CreatedAt,
            ["updatedAt"] = job.UpdatedAt,
        };
        foreach (var column in job.Columns)
        {
            node[column.Key] = column.Value;
        }

        if (job.Error is { } error)
        {
            node["error"] = new JsonObject { ["category"] = GenerationError.CategoryCode(error.Category), ["code"] = error.Code, ["message"] = error.Message };
        }

        return node;
    }

    private sealed class GlobalOptions
    {
        public Option<string> Data { get; } = NotBlank(new("--data") { Description = "Folder of the embedded default (SQLite file + images).", DefaultValueFactory = _ => "./stefna-data", Recursive = true });

        public Option<bool> Json { get; } = new("--json") { Description = "Print one JSON object (or array) on stdout.", Recursive = true };

        public Option<bool> Verbose { get; } = new("--verbose") { Description = "Log progress to stderr (and generate's state, attempt and elapsed time when stderr is not a terminal).", Recursive = true };

        public Option<string> Provider { get; } = new Option<string>("--provider") { Description = "Image provider: offline (default), aimlapi (needs AIMLAPI_KEY) or openai (needs OPENAI_API_KEY).", DefaultValueFactory = _ => "offline", Recursive = true }.OneOf("offline", "aimlapi", "openai");

        public Option<string?> ProviderBase { get; } = HttpUrl(new("--provider-base") { Description = "Base URL of the provider's API (openai: the /v1 URL).", Recursive = true });

        public Option<string?> Model { get; } = new("--model") { Description = $"The provider's model for requests that name none (openai default: {StefnaComposition.DefaultOpenAIModel}).", Recursive = true };

        public Option<bool> AllowPrivateUrls { get; } = new("--allow-private-urls") { Description = "Allow loopback/private provider endpoints and image URLs (local testing only).", Recursive = true };

        public Option<string?> Cloudinary { get; } = new("--cloudinary") { Description = "Store images on Cloudinary: cloudinary://API_KEY:API_SECRET@CLOUD_NAME (or env CLOUDINARY_URL).", Recursive = true };

        public Option<string?> CloudinaryApiBase { get; } = HttpUrl(new("--cloudinary-api-base") { Description = "Base URL of Cloudinary's API (default https://api.cloudinary.com).", Recursive = true });

        public Option<string?> Postgres { get; } = new("--postgres") { Description = "PostgreSQL connection string for jobs (or env STEFNA_POSTGRES); the embedded SQLite file otherwise.", Recursive = true };

        public IEnumerable<Option> All => [Data, Json, Verbose, Provider, ProviderBase, Model, AllowPrivateUrls, Cloudinary, CloudinaryApiBase, Postgres];
    }

    private sealed partial class Context(GlobalOptions g, TextWriter stdout, TextWriter stderr, bool interactive, bool stderrIsTerminal)
    {
        /// <summary>How often <c>generate</c> re-reads the job for its progress lines.</summary>
        private static readonly TimeSpan ProgressPoll = TimeSpan.FromMilliseconds(250);

        public GlobalOptions Global => g;

        public TextWriter Stderr => stderr;

        public bool Interactive => interactive;

        private bool _json;
        private bool _wroteResult;

        public async Task<int> RunAsync(ParseResult parse, Func<IServiceProvider, bool, Task<int>> body, CancellationToken cancellationToken)
        {
            var json = _json = parse.GetValue(g.Json);
            try
            {
                var settings = new CliSettings
                {
                    DataDirectory = parse.GetValue(g.Data)!,
                    Provider = parse.GetValue(g.Provider)!,
                    ProviderBase = parse.GetValue(g.ProviderBase),
                    Model = parse.GetValue(g.Model),
                    AllowPrivateUrls = parse.GetValue(g.AllowPrivateUrls),
                    Verbose = parse.GetValue(g.Verbose),
                    Cloudinary = parse.GetValue(g.Cloudinary),
                    CloudinaryApiBase = parse.GetValue(g.CloudinaryApiBase),
                    Postgres = parse.GetValue(g.Postgres),
                };
                await using var services = StefnaComposition.Build(settings, stderr);
                return await body(services, json).ConfigureAwait(false);
            }
            catch (CliException ex)
            {
                return Fail(ex.Message, ex.ExitCode, ex.Category);
            }
            catch (GenerationException ex)
            {
                return Fail($"{ex.Code}: {ex.Message}", 1, GenerationError.CategoryCode(ex.Category), ex.Code, jsonMessage: ex.Message);
            }
            catch (TimeoutException ex)
            {
                return Fail(ex.Message, 1, "timeout");
            }
            catch (System.Data.Common.DbException ex)
            {
                return Fail(ex.Message, 1, "storage_failure");
            }
            catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or ArgumentException or Microsoft.Extensions.Options.OptionsValidationException)
            {
                return Fail(ex.Message, 1, "invalid_request");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return Fail("canceled", 130, "canceled");
            }
        }

        /// <summary>Reports a failure: one "error:" line on stderr and, under --json, one
        /// <c>{"error":{"category","code","message"}}</c> object on stdout unless the command already printed its result
        /// (a failed or uncancelable job, whose JSON carries the state). Returns <paramref name="exitCode"/>.</summary>
        public int Fail(string message, int exitCode = 1, string category = "invalid_request", string? code = null, string? jsonMessage = null, bool? json = null)
        {
            stderr.WriteLine("error: " + message.ReplaceLineEndings(" "));
            if ((json ?? _json) && !_wroteResult)
            {
                var error = new JsonObject { ["category"] = category, ["code"] = code ?? category, ["message"] = jsonMessage ?? message };
                stdout.WriteLine(new JsonObject { ["error"] = error }.ToJsonString(JsonOptions));
            }

            return exitCode;
        }

        public void Write(bool json, JsonNode node, string text)
        {
            _wroteResult = true;
            stdout.WriteLine(json ? node.ToJsonString(JsonOptions) : text);
        }

        public void WriteJob(bool json, GenerationJob job)
        {
            _wroteResult = true;
            if (json)
            {
                stdout.WriteLine(ToJson(job).ToJsonString(JsonOptions));
                return;
            }

            var console = Console();
            var grid = new Grid().AddColumn().AddColumn();
            grid.AddRow("[bold]id[/]", Markup.Escape(job.Id.ToString()));
            grid.AddRow("[bold]type[/]", Markup.Escape(job.Type));
            grid.AddRow("[bold]status[/]", StatusMarkup(job.Status));
            if (job.Preset is not null) grid.AddRow("[bold]preset[/]", Markup.Escape(job.Preset));
            if (job.Prompt is not null) grid.AddRow("[bold]prompt[/]", Markup.Escape(job.Prompt));
            foreach (var column in job.Columns.Where(c => c.Value is not null)) grid.AddRow($"[bold]{Markup.Escape(column.Key)}[/]", Markup.Escape(column.Value!));
            if (job.Tags.Count > 0) grid.AddRow("[bold]tags[/]", Markup.Escape(string.Join(", ", job.Tags)));
            if (job.ImageUrl is not null) grid.AddRow("[bold]imageUrl[/]", Markup.Escape(job.ImageUrl));
            if (job.Error is { } e) grid.AddRow("[bold]error[/]", Markup.Escape($"{GenerationError.CategoryCode(e.Category)}: {e.Message}"));
            console.Write(grid);
        }

        public void WriteFeed(bool json, FeedPage page)
        {
            if (json)
            {
                var node = new JsonObject
                {
                    ["items"] = new JsonArray([.. page.Items.Select(i => (JsonNode)ToJson(i))]),
                    ["nextCursor"] = page.NextCursor,
                };
                stdout.WriteLine(node.ToJsonString(JsonOptions));
                return;
            }

            var table = new Table().AddColumns("created", "type", "status", "id", "tags", "imageUrl");
            foreach (var job in page.Items)
            {
                table.AddRow(
                    Markup.Escape(job.CreatedAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)),
                    Markup.Escape(job.Type),
                    StatusMarkup(job.Status),
                    Markup.Escape(job.Id.ToString()),
                    Markup.Escape(string.Join(", ", job.Tags)),
                    Markup.Escape(job.ImageUrl ?? string.Empty));
            }

            var console = Console();
            console.Write(table);
            console.WriteLine(page.NextCursor is null ? "(end of feed)" : $"next page: --cursor {page.NextCursor}");
        }

        /// <summary>
        /// Waits for a job; when stderr is a terminal or with --verbose, prints a line on stderr each time its state or
        /// attempt changes (<c>generate TYPE ID: STATE, attempt N, 1.2 s</c>), re-reading the job every
        /// <see cref="ProgressPoll"/>, and a last line with the final state. Otherwise it only waits.
        /// </summary>
        public async Task<GenerationJob> WithJobProgressAsync(bool verbose, GenerationTicket submitted, Func<Task<GenerationJob>> wait, Func<CancellationToken, Task<GenerationJob?>> read, CancellationToken cancellationToken)
        {
            if (!verbose && !stderrIsTerminal)
            {
                return await wait().ConfigureAwait(false);
            }

            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var last = string.Empty;
            void Report(GenerationStatus status, int attempt)
            {
                var state = $"generate {submitted.Type} {submitted.Id}: {status.ToName()}, attempt {attempt}";
                if (state != last)
                {
                    last = state;
                    stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{state}, {System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s"));
                }
            }

            Report(submitted.Status, 0);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var poller = PollAsync();
            GenerationJob job;
            try
            {
                job = await wait().ConfigureAwait(false);
            }
            finally
            {
                await stop.CancelAsync().ConfigureAwait(false);
                await poller.ConfigureAwait(false);
            }

            Report(job.Status, job.Attempts);
            return job;

            async Task PollAsync()
            {
                try
                {
                    using var timer = new PeriodicTimer(ProgressPoll);
                    while (await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false))
                    {
                        if (await read(stop.Token).ConfigureAwait(false) is { } current)
                        {
                            Report(current.Status, current.Attempts);
                        }
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    // The wait ended.
                }
            }
        }

        /// <summary>A Spectre console on stdout; <paramref name="trim"/> drops the trailing spaces its grids and tables pad
        /// lines with (off for live displays, which overwrite a line with spaces).</summary>
        public IAnsiConsole Console(bool trim = true)
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(trim ? new TrimTrailingSpaceWriter(stdout) : stdout),
                Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
                ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
                Interactive = interactive ? InteractionSupport.Detect : InteractionSupport.No,
            });
            if (!interactive)
            {
                // Piped output is read by scripts and people alike: don't wrap URLs and ids at 80 columns.
                console.Profile.Width = 240;
            }

            return console;
        }

        private static string StatusMarkup(GenerationStatus status) => status switch
        {
            GenerationStatus.Completed => "[green]completed[/]",
            GenerationStatus.Failed => "[red]failed[/]",
            GenerationStatus.Canceled => "[grey]canceled[/]",
            GenerationStatus.Processing => "[yellow]processing[/]",
            _ => "[blue]queued[/]",
        };
    }
}
