using System.Text.Json;
using System.Text.Json.Serialization;
using Stefna.Sdk;
using Stefna.Sdk.Generators;

namespace Contoso.RetroPoster;

// The files: one directory per type (named after its table), one JSON document per job, replaced atomically.
public sealed partial class RetroPosterStore
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>A type's jobs: the documents of its directory, in memory, and an index of its idempotency keys.</summary>
    private sealed class Table(GenerationTypeDefinition definition, string directory)
    {
        private readonly Dictionary<(string User, string Key), Guid> _keys = [];

        public GenerationTypeDefinition Definition { get; } = definition;

        public Dictionary<Guid, GenerationJob> Jobs { get; } = [];

        // Reads every document of the directory (creating it when missing). A temporary file is the remains of a write
        // that crashed before its rename: the document it was to replace is intact, so the temporary file is dropped. A
        // document that cannot be read stops the store, naming the file: it is never skipped or overwritten.
        public static Table Load(GenerationTypeDefinition definition, string directory)
        {
            Directory.CreateDirectory(directory);
            var table = new Table(definition, directory);
            foreach (var temporary in Directory.EnumerateFiles(directory, "*.json.tmp"))
            {
                File.Delete(temporary);
            }

            foreach (var path in Directory.EnumerateFiles(directory, "*.json"))
            {
                GenerationJob job;
                try
                {
                    using var stream = File.OpenRead(path);
                    job = (JsonSerializer.Deserialize<Document>(stream, Json) ?? throw new JsonException("The document is null.")).ToJob(definition.Name);
                }
                catch (JsonException e)
                {
                    throw new InvalidDataException($"The Retro Poster store cannot read the job document '{path}': {e.Message}", e);
                }

                if (Path.GetFileNameWithoutExtension(path) != job.Id.ToString("D"))
                {
                    throw new InvalidDataException($"The Retro Poster store's job document '{path}' holds job {job.Id}, not the job its name says.");
                }

                table.Remember(job);
            }

            return table;
        }

        public GenerationJob? FindByKey(string userId, string idempotencyKey) =>
            _keys.TryGetValue((userId, idempotencyKey), out var id) ? Jobs[id] : null;

        // Writes the job's document to a temporary file, flushes it to disk and renames it over the old one; only then
        // does the job change in memory, so a failed write changes nothing.
        public void Save(GenerationJob job)
        {
            var path = Path.Combine(directory, job.Id.ToString("D") + ".json");
            var temporary = path + ".tmp";
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                JsonSerializer.Serialize(stream, Document.From(job), Json);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
            Remember(job);
        }

        private void Remember(GenerationJob job)
        {
            Jobs[job.Id] = job;
            if (job.IdempotencyKey is { } key)
            {
                _keys[(job.UserId, key)] = job.Id;
            }
        }
    }

    /// <summary>The file format of one job (version 1). Kept apart from the SDK's records, so the format on disk changes
    /// only when this store says so.</summary>
    private sealed record Document
    {
        public int Version { get; init; } = 1;

        public required Guid Id { get; init; }

        public required string UserId { get; init; }

        public required GenerationStatus Status { get; init; }

        public string? Prompt { get; init; }

        public string? Preset { get; init; }

        public string? SourceImageUrl { get; init; }

        public string? ImageUrl { get; init; }

        public List<string> Tags { get; init; } = [];

        public Dictionary<string, string> Meta { get; init; } = [];

        public Dictionary<string, string?> Columns { get; init; } = [];

        public GenerationErrorCategory? ErrorCategory { get; init; }

        public string? ErrorCode { get; init; }

        public string? ErrorMessage { get; init; }

        public int Attempts { get; init; }

        public DateTimeOffset? LeaseUntil { get; init; }

        public string? ProviderJobId { get; init; }

        public string? IdempotencyKey { get; init; }

        public string? LegacyId { get; init; }

        public required DateTimeOffset CreatedAt { get; init; }

        public required DateTimeOffset UpdatedAt { get; init; }

        public static Document From(GenerationJob job) => new()
        {
            Id = job.Id,
            UserId = job.UserId,
            Status = job.Status,
            Prompt = job.Prompt,
            Preset = job.Preset,
            SourceImageUrl = job.SourceImageUrl,
            ImageUrl = job.ImageUrl,
            Tags = [.. job.Tags],
            Meta = new Dictionary<string, string>(job.Meta, StringComparer.Ordinal),
            Columns = new Dictionary<string, string?>(job.Columns, StringComparer.Ordinal),
            ErrorCategory = job.Error?.Category,
            ErrorCode = job.Error?.Code,
            ErrorMessage = job.Error?.Message,
            Attempts = job.Attempts,
            LeaseUntil = job.LeaseUntil,
            ProviderJobId = job.ProviderJobId,
            IdempotencyKey = job.IdempotencyKey,
            LegacyId = job.LegacyId,
            CreatedAt = job.CreatedAt,
            UpdatedAt = job.UpdatedAt,
        };

        public GenerationJob ToJob(string type)
        {
            if (Version != 1)
            {
                throw new JsonException($"Version {Version} is not one this store reads (1).");
            }

            return new GenerationJob
            {
                Id = Id,
                Type = type,
                UserId = UserId,
                Status = Status,
                Prompt = Prompt,
                Preset = Preset,
                SourceImageUrl = SourceImageUrl,
                ImageUrl = ImageUrl,
                Tags = Tags,
                Meta = Meta,
                Columns = Columns,
                Error = ErrorCategory is { } category ? new GenerationError(category, ErrorCode ?? string.Empty, ErrorMessage ?? string.Empty) : null,
                Attempts = Attempts,
                LeaseUntil = LeaseUntil,
                ProviderJobId = ProviderJobId,
                IdempotencyKey = IdempotencyKey,
                LegacyId = LegacyId,
                CreatedAt = CreatedAt,
                UpdatedAt = UpdatedAt,
            };
        }
    }
}
