namespace Stefna.Sdk.Relational;

/// <summary>What each status change writes, once for both databases (the SET lists; the statements around them are
/// <see cref="RelationalTable.GuardedUpdate"/> or the database's own batch form). Parameters: <c>@error_code</c>,
/// <c>@error_message</c>, <c>@provider_job_id</c>, <c>@deadline</c>; times are expressions the store chooses
/// (a parameter, or PostgreSQL's database clock).</summary>
internal static class JobWrites
{
    /// <summary>A failure: terminal, with its error, holding no lease.</summary>
    public const string Fail = "status = 'failed', error_code = @error_code, error_message = @error_message, lease_until = NULL";

    /// <summary>The provider's id of the job, kept while it runs.</summary>
    public const string SetProviderJobId = "provider_job_id = @provider_job_id";

    /// <summary>Back in the queue with the error that sent it there, claimable from <paramref name="notBefore"/>.</summary>
    public static string Requeue(string notBefore) => $"status = 'queued', error_code = @error_code, error_message = @error_message, lease_until = {notBefore}";

    /// <summary>A stopping worker's hand-back: queued, claimable at once, and the claim's attempt returned.</summary>
    public static string Release(RelationalDialect dialect) => $"status = 'queued', attempts = {dialect.Greatest("attempts - 1", "0")}, lease_until = NULL";

    /// <summary>Parked at the provider: no lease, checked again from <paramref name="nextCheckAt"/>.</summary>
    public static string Park(string nextCheckAt) => $"provider_job_id = @provider_job_id, next_check_at = {nextCheckAt}, provider_deadline = @deadline, lease_until = NULL";

    /// <summary>Completed with its image; the result's meta merged into the stored meta (<paramref name="mergedMeta"/>),
    /// and a completed job carries no error (a requeue's error is cleared).</summary>
    public static string Complete(string imageUrl, string mergedMeta) =>
        $"status = 'completed', image_url = {imageUrl}, meta = {mergedMeta}, error_code = NULL, error_message = NULL, lease_until = NULL";

    /// <summary>Canceled: no lease, no next check.</summary>
    public const string Cancel = "status = 'canceled', lease_until = NULL, next_check_at = NULL";
}
