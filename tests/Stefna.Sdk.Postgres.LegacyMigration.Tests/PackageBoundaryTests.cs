using System.Reflection;
using Stefna.Generators.NeoGlitch;
using Stefna.Sdk.Legacy;
using Stefna.Sdk.Postgres.Legacy;
using Stefna.TestUtils;

namespace Stefna.Sdk.Postgres.LegacyMigration.Tests;

/// <summary>Where the legacy migration lives: its own package holds the classifier, the ids and the migrator; the core
/// keeps only the rule plug-ins carry as data; the PostgreSQL store and the plug-ins ship none of it, and the test-data
/// generator ships in no package.</summary>
public sealed class PackageBoundaryTests
{
    private static readonly Assembly Migration = typeof(LegacyMigrator).Assembly;
    private static readonly Assembly Core = typeof(IGenerationPipeline).Assembly;
    private static readonly Assembly Postgres = typeof(PostgresMediaStore).Assembly;

    [Fact]
    public void The_migration_package_holds_the_classifier_the_ids_and_the_migrator()
    {
        Assert.Equal("Stefna.Sdk.Postgres.LegacyMigration", Migration.GetName().Name);
        Assert.Same(Migration, typeof(LegacyClassifier).Assembly);
        Assert.Same(Migration, typeof(LegacyIds).Assembly);
        Assert.Same(Migration, typeof(MigrationReport).Assembly);
    }

    [Fact]
    public void The_core_keeps_only_the_rule_and_the_postgres_store_no_legacy_type()
    {
        Assert.Same(Core, typeof(LegacyClassificationRule).Assembly);
        Assert.Equal(["Stefna.Sdk.Legacy.LegacyClassificationRule"], Core.GetExportedTypes().Where(t => t.Namespace?.Contains("Legacy", StringComparison.Ordinal) == true).Select(t => t.FullName));
        Assert.DoesNotContain(Postgres.GetExportedTypes(), t => t.Namespace?.Contains("Legacy", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void No_shipped_assembly_exports_the_seeder_and_plug_ins_do_not_depend_on_the_migration()
    {
        foreach (var shipped in new[] { Migration, Core, Postgres })
        {
            Assert.DoesNotContain(shipped.GetExportedTypes(), t => t.Name == "LegacySeeder");
        }

        Assert.DoesNotContain(typeof(NeoGlitchGenerator).Assembly.GetReferencedAssemblies(), a => a.Name!.Contains("Postgres", StringComparison.Ordinal));
    }

    [Fact]
    public void No_source_file_of_the_migration_package_is_over_500_lines()
    {
        var project = PostgresServer.FindRepositoryFile("src/Stefna.Sdk.Postgres.LegacyMigration/Stefna.Sdk.Postgres.LegacyMigration.csproj");
        Assert.NotNull(project);
        var files = Directory.GetFiles(Path.GetDirectoryName(project)!, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(files);
        Assert.All(files, f => Assert.True(File.ReadLines(f).Count() <= 500, $"{f} has {File.ReadLines(f).Count()} lines"));
    }
}
