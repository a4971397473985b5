namespace Stefna.Sdk.Extensions.AI;

/// <summary>Options of a <see cref="GenerationTypeImageGenerator"/>: whose jobs it submits and how long it waits.</summary>
public sealed class GenerationTypeImageGeneratorOptions
{
    /// <summary>The <c>AdditionalProperties</c> key naming the user a call's jobs belong to: <c>user_id</c>.</summary>
    public const string UserIdProperty = "user_id";

    /// <summary>The <c>AdditionalProperties</c> key of the idempotency key: <c>idempotency_key</c>. A repeated call
    /// with the same key (same user and type) returns the same job's image instead of generating again.</summary>
    public const string IdempotencyKeyProperty = "idempotency_key";

    /// <summary>The <c>AdditionalProperties</c> key of the type's preset or style: <c>preset</c>. Other string
    /// properties become the request's type-specific options (e.g. <c>emotion</c>, <c>reaction</c>).</summary>
    public const string PresetProperty = "preset";

    /// <summary>The user jobs belong to when a call names none in <see cref="UserIdProperty"/>. Default <c>meai</c>.</summary>
    public string DefaultUserId { get; set; } = "meai";

    /// <summary>The longest a call waits for its job to finish (queue time included). Default 5 min.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);
}
