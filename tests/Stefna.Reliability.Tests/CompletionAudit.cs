using Stefna.Sdk.Postgres.Tests;

namespace Stefna.Reliability.Tests;

/// <summary>
/// The completion audit of the PostgreSQL fault tests: a trigger writes one <c>completion_audit</c> row per UPDATE that
/// leaves a job completed, with the session's <c>application_name</c> (each worker process can connect under its own,
/// so completions are attributed to processes), the time and the port of the server that ran it (a failover shows which
/// completions the promoted standby made). A result stored twice shows as a second row for the same job.
/// </summary>
internal static class CompletionAudit
{
    /// <summary>Creates the audit table and the trigger on a type's table.</summary>
    /// <param name="connectionString">The database.</param>
    /// <param name="table">The type's table (a plain identifier).</param>
    public static async Task InstallAsync(string connectionString, string table)
    {
        // DDL takes no parameters: the table name comes from a type definition and is checked to be a plain identifier.
        Assert.Matches("^[a-z_]+$", table);
        await TestTypes.ExecuteAsync(connectionString, $$"""
            CREATE TABLE IF NOT EXISTS completion_audit (job_id uuid NOT NULL, app text NOT NULL DEFAULT current_setting('application_name'),
                at timestamptz NOT NULL DEFAULT clock_timestamp(), server_port integer DEFAULT inet_server_port());
            CREATE OR REPLACE FUNCTION audit_completion() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO completion_audit (job_id) VALUES (NEW.id);
                RETURN NEW;
            END $$;
            CREATE TRIGGER {{table}}_audit AFTER UPDATE ON {{table}}
                FOR EACH ROW WHEN (NEW.status = 'completed') EXECUTE FUNCTION audit_completion();
            """);
    }

    /// <summary>Reads what the audit recorded.</summary>
    /// <param name="connectionString">The database.</param>
    /// <param name="applicationNames">The worker processes' application names to count completions for.</param>
    /// <returns>Completions audited, completions beyond one per job (results stored twice), and the completions of
    /// each named process, in the order given.</returns>
    public static async Task<(long Audited, long Duplicated, long[] PerProcess)> ReadAsync(string connectionString, params string[] applicationNames)
    {
        var audited = await TestTypes.ScalarAsync<long>(connectionString, "SELECT count(*) FROM completion_audit");
        var duplicated = audited - await TestTypes.ScalarAsync<long>(connectionString, "SELECT count(DISTINCT job_id) FROM completion_audit");
        var perProcess = new long[applicationNames.Length];
        for (var i = 0; i < applicationNames.Length; i++)
        {
            perProcess[i] = await TestTypes.ScalarAsync<long>(connectionString, "SELECT count(*) FROM completion_audit WHERE app = @app", ("app", applicationNames[i]));
        }

        return (audited, duplicated, perProcess);
    }
}
