namespace Stefna.Sdk.Postgres.Legacy;

/// <summary>A legacy migration step was refused or cannot run (for example dropping the legacy table without a
/// passing verification of its current data). The message says what to do.</summary>
public sealed class LegacyMigrationException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public LegacyMigrationException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened and what to do.</param>
    public LegacyMigrationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public LegacyMigrationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
