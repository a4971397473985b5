using static Stefna.TestUtils.GeneratorTestKit;

namespace Stefna.Generators.Presets.Tests;

public class PresetCatalogTests
{
    [Fact]
    public void Catalogue_has_25_distinct_complete_presets()
    {
        Assert.Equal(25, PresetCatalog.All.Count);
        Assert.Equal(25, PresetCatalog.Keys.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Equal(PresetCatalog.All.Select(p => p.Key), PresetCatalog.Keys);
        Assert.Equal(25, PresetCatalog.All.Select(p => p.PromptTemplate).Distinct().Count());
        Assert.All(PresetCatalog.All, p =>
        {
            Assert.Matches("^[a-z][a-z0-9_]*$", p.Key);
            Assert.False(string.IsNullOrWhiteSpace(p.Name));
            Assert.False(string.IsNullOrWhiteSpace(p.Description));
            Assert.Contains("{prompt}", p.PromptTemplate, StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(p.Model));
            Assert.False(string.IsNullOrWhiteSpace(p.ImageSize));
            Assert.InRange(p.Strength, 0.01, 1.0);
        });
    }

    [Fact]
    public void No_key_looks_like_another_types_legacy_preset()
    {
        string[] foreignPrefixes = ["emotion_", "ghibli_", "neo_tokyo", "neo-tokyo"];
        Assert.All(PresetCatalog.Keys, k => Assert.DoesNotContain(foreignPrefixes, p => k.StartsWith(p, StringComparison.OrdinalIgnoreCase)));
    }

    [Fact]
    public void Lookup_is_case_insensitive()
    {
        Assert.True(PresetCatalog.TryGet(" Film_Noir ", out var preset));
        Assert.Equal("film_noir", preset.Key);
        Assert.False(PresetCatalog.TryGet("no_such_preset", out _));
        Assert.False(PresetCatalog.TryGet(null, out _));
    }

    [Fact]
    public void Type_definition_carries_the_catalogue_as_its_reference_table()
    {
        var definition = PresetsGenerator.TypeDefinition;
        Assert.Equal("presets", definition.Name);
        Assert.Equal("presets_media", definition.TableName);
        Assert.Equal("Professional Presets", definition.DisplayName);
        Assert.True(definition.RequiresSourceImage);
        Assert.NotNull(definition.Catalog);
        Assert.Equal("presets_catalog", definition.Catalog.TableName);
        Assert.Equal(PresetCatalog.All.Select(p => (p.Key, p.Name, p.Description)), definition.Catalog.Entries.Select(e => (e.Key, e.Name, e.Description)));
    }

    [Fact]
    public void Legacy_rule_names_presets_preset_and_the_25_keys()
    {
        var rule = PresetsGenerator.TypeDefinition.LegacyRule!;

        Assert.Equal(PresetCatalog.Keys, rule.PresetKeys);
        Assert.Empty(rule.PresetKeyPrefixes);
        Assert.False(rule.IsPromptFallback);
        Assert.True(Claims(rule, generationType: "Presets"));
        Assert.True(Claims(rule, mode: "preset"));
        Assert.True(Claims(rule, presetKey: "CINEMATIC_GLOW"));
        Assert.False(Claims(rule, presetKey: "emotion_joy"));
        Assert.False(Claims(rule, mode: "custom"));
        Assert.False(Claims(rule, generationType: "custom-prompt"));
    }
}
