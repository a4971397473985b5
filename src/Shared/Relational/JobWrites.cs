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

    /// <summary>The rows a claim may take: queued and due (a requeue's back-off has passed), or processing with an
    /// expired lease (its worker stopped).</summary>
    public static string Claimable(string now) =>
        $"((status = 'queued' AND (lease_until IS NULL OR lease_until <= {now})) OR (status = 'processing' AND lease_until < {now}))";

    /// <summary>What a claim writes to each row it picked: processing under a new lease and one more attempt, except a
    /// row whose lease expired after the last allowed attempt (<c>@max_attempts</c>; its worker stopped every time),
    /// which is failed with <c>@error_code</c>/<c>@error_message</c> instead. The CASEs read the row as it was.</summary>
    public static string Claim(string now, string leaseUntil) => $"""
        status = CASE WHEN {Exhausted} THEN 'failed' ELSE 'processing' END,
            attempts = CASE WHEN {Exhausted} THEN attempts ELSE attempts + 1 END,
            lease_until = CASE WHEN {Exhausted} THEN NULL ELSE {leaseUntil} END,
            error_code = CASE WHEN {Exhausted} THEN @error_code ELSE error_code END,
            error_message = CASE WHEN {Exhausted} THEN @error_message ELSE error_message END,
            updated_at = {now}
        """;

    /// <summary>How many rows a claim may pick: <c>@limit</c>, or with a limit of jobs outstanding at the provider
    /// (<c>@max_outstanding</c>) no more than it leaves room for (the caller makes the count and the claim atomic).</summary>
    public static string ClaimLimit(RelationalDialect dialect, string table, bool limited) => limited
        ? dialect.Greatest("0", dialect.Least("@limit", $"@max_outstanding - (SELECT count(*) FROM {table} WHERE status = 'processing')"))
        : "@limit";

    /// <summary>Parked rows whose next check is due.</summary>
    public static string ParkedDue(string now) => $"status = 'processing' AND next_check_at <= {now}";

    /// <summary>What claiming a parked row writes: a lease, no next check, and no attempt spent.</summary>
    public static string ClaimParked(string now, string leaseUntil) => $"lease_until = {leaseUntil}, next_check_at = NULL, updated_at = {now}";

    /// <summary>What renewing a lease writes.</summary>
    public static string Renew(string now, string leaseUntil) => $"lease_until = {leaseUntil}, updated_at = {now}";

    private const string Exhausted = "status = 'processing' AND attempts >= @max_attempts";

    /// <summary>Canceled: no lease, no next check.</summary>
    public const string Cancel = "status = 'canceled', lease_until = NULL, next_check_at = NULL";
}
