using Stefna.Sdk.Generators;
using Stefna.Sdk.Legacy;

namespace Stefna.Sdk.Postgres.LegacyMigration.Tests;

/// <summary>The classifier's ordering of plug-in legacy rules (DESIGN.md "Data"), with rules shaped like the five types'
/// but defined here: the classifier knows no type.</summary>
public sealed class LegacyClassifierTests
{
    private static readonly GenerationTypeDefinition Neo = Type("neo-glitch", new LegacyClassificationRule
    {
        GenerationTypes = ["neo-glitch"], Modes = ["neotokyo"], PresetKeyPrefixes = ["neo_tokyo"],
    });

    private static readonly GenerationTypeDefinition Emotion = Type("emotion-mask", new LegacyClassificationRule
    {
        GenerationTypes = ["emotion-mask"], Modes = ["emotionmask"], PresetKeyPrefixes = ["emotion_"],
    });

    private static readonly GenerationTypeDefinition Presets = Type("presets", new LegacyClassificationRule
    {
        // "emotion_joy" is also a catalogue key here: the prefix rule must win over the catalogue.
        GenerationTypes = ["presets"], Modes = ["preset"], PresetKeys = ["cinematic_glow", "oil_painting", "emotion_joy"],
    });

    private static readonly GenerationTypeDefinition Ghibli = Type("ghibli-reaction", new LegacyClassificationRule
    {
        GenerationTypes = ["ghibli-reaction"], Modes = ["ghiblireact"], PresetKeyPrefixes = ["ghibli_"],
    });

    private static readonly GenerationTypeDefinition Custom = Type("custom-prompt", new LegacyClassificationRule
    {
        GenerationTypes = ["custom-prompt"], Modes = ["custom"], IsPromptFallback = true,
    });

    private readonly LegacyClassifier _classifier = new([Neo, Emotion, Presets, Ghibli, Custom, new GenerationTypeDefinition("no-rule", "no_rule_media", "No rule")]);

    [Theory]
    [InlineData("{\"generation_type\":\"neo-glitch\"}", "neo-glitch")]
    [InlineData("{\"generation_type\":\"NEO_GLITCH\"}", "neo-glitch")]
    [InlineData("{\"generation_type\":\" Emotion_Mask \"}", "emotion-mask")]
    [InlineData("{\"generation_type\":\"Ghibli-Reaction\",\"extra\":{\"a\":1}}", "ghibli-reaction")]
    [InlineData("{\"generation_type\":\"custom_prompt\"}", "custom-prompt")]
    [InlineData("{\"generation_type\":\"Presets\"}", "presets")]
    public void Rule1_generation_type_decides_case_insensitively_with_underscores_or_dashes(string meta, string expected)
    {
        var result = _classifier.Classify(Row(meta: meta));

        Assert.Equal(expected, result.Type);
        Assert.Equal(LegacySignal.GenerationType, result.Signal);
    }

    [Theory]
    [InlineData("{\"mode\":\"NeoTokyo\"}", "neo-glitch")]
    [InlineData("{\"mode\":\"EMOTIONMASK\"}", "emotion-mask")]
    [InlineData("{\"mode\":\"preset\"}", "presets")]
    [InlineData("{\"mode\":\"ghibliReact\"}", "ghibli-reaction")]
    [InlineData("{\"mode\":\"custom\"}", "custom-prompt")]
    [InlineData("{\"generation_type\":\"sticker\",\"mode\":\"custom\"}", "custom-prompt")]
    public void Rule2_mode_decides_when_generation_type_names_no_type(string meta, string expected)
    {
        var result = _classifier.Classify(Row(meta: meta));

        Assert.Equal(expected, result.Type);
        Assert.Equal(LegacySignal.Mode, result.Signal);
    }

    [Theory]
    [InlineData("neo_tokyo_visor", "neo-glitch", LegacySignal.PresetKeyPrefix)]
    [InlineData("Neo-Tokyo-Base", "neo-glitch", LegacySignal.PresetKeyPrefix)]
    [InlineData("EMOTION-sadness", "emotion-mask", LegacySignal.PresetKeyPrefix)]
    [InlineData("emotion_joy", "emotion-mask", LegacySignal.PresetKeyPrefix)]
    [InlineData("ghibli_crying", "ghibli-reaction", LegacySignal.PresetKeyPrefix)]
    [InlineData("cinematic_glow", "presets", LegacySignal.PresetKey)]
    [InlineData("Oil-Painting", "presets", LegacySignal.PresetKey)]
    public void Rule3_preset_key_prefixes_come_before_catalogue_keys(string presetKey, string expected, LegacySignal signal)
    {
        var result = _classifier.Classify(Row(presetKey: presetKey, prompt: "a prompt"));

        Assert.Equal(expected, result.Type);
        Assert.Equal(signal, result.Signal);
    }

    [Fact]
    public void Rule4_a_prompt_without_preset_key_or_signal_falls_back()
    {
        var result = _classifier.Classify(Row(prompt: "a cat", meta: "{\"source\":\"web\"}"));

        Assert.Equal("custom-prompt", result.Type);
        Assert.Equal(LegacySignal.PromptFallback, result.Signal);
    }

    [Theory]
    [InlineData("a cat", "legacy_filter_3")]
    [InlineData("   ", null)]
    [InlineData(null, null)]
    public void Rows_no_rule_claims_are_unclassified(string? prompt, string? presetKey)
    {
        var result = _classifier.Classify(Row(prompt: prompt, presetKey: presetKey, meta: "{\"generation_type\":\"sticker\"}"));

        Assert.Null(result.Type);
        Assert.Equal(LegacyUnclassifiedReason.NoRuleMatched, result.Reason);
    }

    [Theory]
    [InlineData("{\"generation_type\":\"neo-glitch\",\"mode\":\"emotionmask\"}", null)]
    [InlineData("{\"generation_type\":\"presets\"}", "neo_tokyo_visor")]
    [InlineData("{\"mode\":\"ghiblireact\"}", "cinematic_glow")]
    public void Explicit_signals_naming_two_types_conflict(string meta, string? presetKey)
    {
        var result = _classifier.Classify(Row(meta: meta, presetKey: presetKey));

        Assert.Null(result.Type);
        Assert.Equal(LegacyUnclassifiedReason.ConflictingSignals, result.Reason);
        Assert.Contains("but", result.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void Agreeing_signals_classify_by_the_first_rule()
    {
        var result = _classifier.Classify(Row(meta: "{\"generation_type\":\"emotion_mask\",\"mode\":\"EmotionMask\"}", presetKey: "emotion_joy"));

        Assert.Equal("emotion-mask", result.Type);
        Assert.Equal(LegacySignal.GenerationType, result.Signal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" \t")]
    public void A_row_without_url_is_unclassified_whatever_its_signals(string? url)
    {
        var result = _classifier.Classify(new LegacyRow("a1", "u1", url, "p", null, "{\"generation_type\":\"neo-glitch\"}"));

        Assert.Equal(LegacyUnclassifiedReason.NoUrl, result.Reason);
        Assert.Equal("no url", LegacyClassifier.ReasonText(result.Reason!.Value));
    }

    [Fact]
    public void Rows_without_id_or_user_are_unclassified()
    {
        Assert.Equal(LegacyUnclassifiedReason.NoId, _classifier.Classify(new LegacyRow(null, "u", "https://x/1.jpg", "p", null, null)).Reason);
        Assert.Equal(LegacyUnclassifiedReason.NoUserId, _classifier.Classify(new LegacyRow("a", null, "https://x/1.jpg", "p", null, null)).Reason);
    }

    [Theory]
    [InlineData("not json at all {")]
    [InlineData("[\"generation_type\", \"neo-glitch\"]")]
    [InlineData("\"{\\\"generation_type\\\":\\\"neo-glitch\\\"}\"")]
    [InlineData("42")]
    [InlineData("null")]
    [InlineData("{\"generation_type\":{\"name\":\"neo-glitch\"}}")]
    public void Malformed_meta_gives_no_signal_and_does_not_crash(string meta)
    {
        var withPrompt = _classifier.Classify(Row(meta: meta, prompt: "a prompt"));
        var withoutPrompt = _classifier.Classify(Row(meta: meta, prompt: null));

        Assert.Equal(LegacySignal.PromptFallback, withPrompt.Signal);
        Assert.Equal(LegacyUnclassifiedReason.NoRuleMatched, withoutPrompt.Reason);
    }

    [Fact]
    public void A_repeated_meta_key_reads_as_the_last_one_like_jsonb()
    {
        Assert.Equal("emotion-mask", _classifier.Classify(Row(meta: "{\"generation_type\":\"neo-glitch\",\"generation_type\":\"emotion-mask\"}")).Type);
    }

    [Fact]
    public void Rules_are_exposed_normalised_in_type_order_for_sql_compilers()
    {
        Assert.Equal(["custom-prompt", "emotion-mask", "ghibli-reaction", "neo-glitch", "presets"], _classifier.Rules.Select(r => r.Type.Name));
        var neo = _classifier.Rules.Single(r => r.Type.Name == "neo-glitch");
        Assert.Equal(["neo-tokyo"], neo.PresetKeyPrefixes);
        Assert.Equal(["cinematic-glow", "oil-painting", "emotion-joy"], _classifier.Rules.Single(r => r.Type.Name == "presets").PresetKeys);
        Assert.Equal("custom-prompt", _classifier.PromptFallback!.Type.Name);
    }

    [Theory]
    [InlineData("  NEO_Tokyo\t", "neo-tokyo")]
    [InlineData("İstanbul_X", "İstanbul-x")]
    [InlineData(null, "")]
    public void Normalisation_trims_lowercases_ascii_only_and_maps_underscores(string? raw, string expected) =>
        Assert.Equal(expected, LegacyClassifier.NormalizeSignal(raw));

    [Fact]
    public void Two_types_claiming_the_same_value_are_refused()
    {
        var clash = Type("other", new LegacyClassificationRule { Modes = ["NEOTOKYO"] });
        var error = Assert.Throws<ArgumentException>(() => new LegacyClassifier([Neo, clash]));
        Assert.Contains("neotokyo", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Overlapping_prefixes_or_two_fallbacks_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new LegacyClassifier([Neo, Type("neo2", new LegacyClassificationRule { PresetKeyPrefixes = ["neo_tokyo_v"] })]));
        Assert.Throws<ArgumentException>(() => new LegacyClassifier([Custom, Type("other", new LegacyClassificationRule { IsPromptFallback = true })]));
    }

    [Theory]
    [InlineData("CINEMATIC_GLOW", "{\"generation_type\":\"presets\"}", "cinematic_glow")]
    [InlineData(" Cinematic-Glow ", null, "cinematic_glow")]
    [InlineData("\tOil-Painting", "{\"mode\":\"Preset\",\"tags\":[\"x\"]}", "oil_painting")]
    [InlineData("cinematic_glow", null, "cinematic_glow")]
    [InlineData("Retro_VHS", "{\"generation_type\":\"presets\"}", "Retro_VHS")]
    [InlineData("Oil-Painting", "[1]", "Oil-Painting")]
    [InlineData("Oil-Painting", "\"text\"", "Oil-Painting")]
    [InlineData("Oil-Painting", "{\"legacy_preset_key\":\"older\"}", "Oil-Painting")]
    [InlineData("Neo_Tokyo_Visor", null, "Neo_Tokyo_Visor")]
    public void A_catalogue_key_in_another_spelling_is_stored_as_the_catalogue_key_when_meta_can_keep_the_original(string presetKey, string? meta, string expected)
    {
        var presets = new GenerationTypeDefinition("presets", "presets_media", "Presets")
        {
            Catalog = new CatalogDefinition("presets_catalog", [new("cinematic_glow", "Cinematic Glow", "d"), new("oil_painting", "Oil Painting", "d")]),
            LegacyRule = new LegacyClassificationRule { GenerationTypes = ["presets"], Modes = ["preset"], PresetKeys = ["cinematic_glow", "oil_painting"] },
        };
        var classifier = new LegacyClassifier([Neo, presets]);

        var result = classifier.Classify(Row(meta: meta, presetKey: presetKey));

        Assert.Equal(presetKey.StartsWith("Neo", StringComparison.Ordinal) ? "neo-glitch" : "presets", result.Type);
        Assert.Equal(expected, result.Preset);
        Assert.Equal(new Dictionary<string, string> { ["cinematic-glow"] = "cinematic_glow", ["oil-painting"] = "oil_painting" }, classifier.Rules.Single(r => r.Type.Name == "presets").CatalogKeys);
        Assert.Null(classifier.Classify(Row(meta: "{\"generation_type\":\"sticker\"}")).Preset);
    }

    [Fact]
    public void Prefixes_match_in_any_spelling_and_leave_the_key_as_written()
    {
        Assert.Equal(("emotion-mask", " EMOTION-Joy "), Pair(_classifier.Classify(Row(presetKey: " EMOTION-Joy "))));
        Assert.Equal(("ghibli-reaction", "Ghibli-Crying"), Pair(_classifier.Classify(Row(presetKey: "Ghibli-Crying"))));
        Assert.Equal(("neo-glitch", "NEO-TOKYO_visor"), Pair(_classifier.Classify(Row(presetKey: "NEO-TOKYO_visor"))));

        static (string?, string?) Pair(LegacyClassification c) => (c.Type, c.Preset);
    }

    [Fact]
    public void A_catalogue_holding_one_key_in_two_spellings_is_refused()
    {
        var type = new GenerationTypeDefinition("presets", "presets_media", "Presets")
        {
            Catalog = new CatalogDefinition("presets_catalog", [new("film_noir", "Film Noir", "d"), new("Film-Noir", "Film Noir 2", "d")]),
            LegacyRule = new LegacyClassificationRule { GenerationTypes = ["presets"] },
        };
        var error = Assert.Throws<ArgumentException>(() => new LegacyClassifier([type]));
        Assert.Contains("Film-Noir", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Uuid_ids_keep_their_value_in_any_case()
    {
        Assert.Equal(Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"), LegacyIds.ToRowId("0F8FAD5B-D9CB-469F-A165-70867728950E"));
        Assert.True(LegacyIds.IsCanonicalUuid("0f8fad5b-d9cb-469f-a165-70867728950e"));
        Assert.False(LegacyIds.IsCanonicalUuid("{0f8fad5b-d9cb-469f-a165-70867728950e}"));
        Assert.False(LegacyIds.IsCanonicalUuid("0f8fad5bd9cb469fa16570867728950e"));
    }

    [Fact]
    public void Other_ids_become_rfc_version5_uuids()
    {
        // The RFC's own example (DNS namespace, www.example.com), and two of ours checked with Python's uuid.uuid5.
        Assert.Equal(Guid.Parse("2ed6657d-e927-568b-95e1-2665a8aea6a2"), LegacyIds.CreateVersion5(Guid.Parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), "www.example.com"));
        Assert.Equal(Guid.Parse("07148ef8-e6d8-5f45-a39b-7386cfbf955b"), LegacyIds.ToRowId("ma_42"));
        Assert.Equal(Guid.Parse("5d43e393-a26b-567a-aed6-a4b041ac47cd"), LegacyIds.ToRowId("héllo✓"));
        Assert.Equal(LegacyIds.ToRowId("{0f8fad5b-d9cb-469f-a165-70867728950e}"), LegacyIds.CreateVersion5(LegacyIds.Namespace, "{0f8fad5b-d9cb-469f-a165-70867728950e}"));
    }

    private static LegacyRow Row(string? meta = null, string? presetKey = null, string? prompt = null) =>
        new("legacy-1", "user-1", "https://cdn.example/1.jpg", prompt, presetKey, meta);

    private static GenerationTypeDefinition Type(string name, LegacyClassificationRule rule) =>
        new(name, name.Replace('-', '_') + "_media", name) { LegacyRule = rule };
}
