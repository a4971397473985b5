using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Stefna.Sdk.Cloudinary;

/// <summary>
/// One step of a Cloudinary transformation chain: comma-joined components such as <c>c_fill,h_200,w_300</c>, written
/// in the order Cloudinary's SDKs write them (pycloudinary <c>generate_transformation_string</c>, cloudinary_npm,
/// CloudinaryDotNet): variables (<c>$name_value</c>) first, then the SDKs' known parameters sorted as
/// <c>key_value</c> strings (ordinal), then any other parameter in the order added (the SDKs' <c>raw_transformation</c>).
/// The order matters: a signed URL signs the text, and a strict transformation is matched as text.
/// </summary>
public sealed class CloudinaryTransformation
{
    // The short names pycloudinary's generate_transformation_string sorts (its params dict and
    // _SIMPLE_TRANSFORMATION_PARAMS); cloudinary_npm and CloudinaryDotNet sort the same set.
    private static readonly HashSet<string> KnownParameters = new(StringComparer.Ordinal)
    {
        "a", "ac", "af", "ar", "b", "bo", "br", "c", "co", "cs", "d", "dl", "dn", "dpr", "du", "e", "eo", "f", "fl", "fn",
        "fps", "g", "h", "ki", "l", "o", "p", "pg", "q", "r", "so", "sp", "t", "u", "vc", "vs", "w", "x", "y", "z",
    };

    private readonly List<(string Key, string Text)> _components = [];

    /// <summary>The components as the SDKs order them, e.g. <c>c_fill</c>, <c>h_200</c>, <c>w_300</c>.</summary>
    public IReadOnlyList<string> Components =>
    [
        .. _components.Where(c => c.Key.StartsWith('$')).Select(c => c.Text).Order(StringComparer.Ordinal),
        .. _components.Where(c => KnownParameters.Contains(c.Key)).Select(c => c.Text).Order(StringComparer.Ordinal),
        .. _components.Where(c => !c.Key.StartsWith('$') && !KnownParameters.Contains(c.Key)).Select(c => c.Text),
    ];

    /// <summary>Crop or resize mode (<c>c_</c>), e.g. <c>fill</c>, <c>fit</c>, <c>scale</c>, <c>thumb</c>, <c>pad</c>.</summary>
    /// <param name="mode">The mode.</param>
    /// <returns>This step.</returns>
    public CloudinaryTransformation Crop(string mode) => Add("c", mode);

    /// <summary>Width in pixels (<c>w_</c>).</summary>
    /// <param name="pixels">The width.</param>
    /// <returns>This step.</returns>
    public CloudinaryTransformation Width(int pixels) => Add("w", Positive(pixels));

    /// <summary>Height in pixels (<c>h_</c>).</summary>
    /// <param name="pixels">The height.</param>
    /// <returns>This step.</returns>
    public CloudinaryTransformation Height(int pixels) => Add("h", Positive(pixels));

    /// <summary>Gravity (<c>g_</c>), e.g. <c>auto</c>, <c>face</c>.</summary>
    /// <param name="gravity">The gravity.</param>
    /// <returns>This step.</returns>
    public CloudinaryTransformation Gravity(string gravity) => Add("g", gravity);

    /// <summary>An effect (<c>e_</c>), e.g. <c>sepia</c> or <c>blur:300</c>.</summary>
    /// <param name="effect">The effect.</param>
    /// <returns>This step.</returns>
    public CloudinaryTransformation Effect(string effect) => Add("e", effect);

    /// <summary>Corner radius (<c>r_</c>), e.g. <c>20</c> or <c>max</c>.</summary>
    /// <param name="radius">The radius.</param>
    /// <returns>This step.</returns>
    public CloudinaryTransformation Radius(string radius) => Add("r", radius);

    /// <summary>Delivery format (<c>f_</c>), e.g. <c>auto</c>, <c>webp</c>.</summary>
    /// <param name="format">The format.</param>
    /// <returns>This step.</returns>
    public CloudinaryTransformation Format(string format) => Add("f", format);

    /// <summary>Quality (<c>q_</c>), e.g. <c>auto</c> or <c>80</c>.</summary>
    /// <param name="quality">The quality.</param>
    /// <returns>This step.</returns>
    public CloudinaryTransformation Quality(string quality) => Add("q", quality);

    /// <summary>Any other parameter, written as <c>{key}_{value}</c>. A key Cloudinary's SDKs know (<c>ar</c>, <c>o</c>,
    /// <c>b</c>, …) or a variable (<c>$name</c>) is ordered as they order it; any other key follows them as added.</summary>
    /// <param name="key">The short parameter name, e.g. <c>ar</c>.</param>
    /// <param name="value">The value, e.g. <c>16:9</c>.</param>
    /// <returns>This step.</returns>
    public CloudinaryTransformation Add(string key, string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        if ((key + value).AsSpan().IndexOfAny(",/?#& ") >= 0)
        {
            throw new ArgumentException($"Transformation component '{key}_{value}' must not contain ',', '/', '?', '#', '&' or spaces.", nameof(value));
        }

        _components.Add((key, key + "_" + value));
        return this;
    }

    /// <summary>The step as it appears in a URL.</summary>
    /// <returns>E.g. <c>c_fill,h_200,w_300</c>.</returns>
    public override string ToString() => string.Join(',', Components);

    private static string Positive(int pixels) => pixels > 0
        ? pixels.ToString(CultureInfo.InvariantCulture)
        : throw new ArgumentOutOfRangeException(nameof(pixels), pixels, "Dimensions must be positive.");
}

/// <summary>
/// Builds Cloudinary delivery URLs as Cloudinary's SDKs do (pycloudinary <c>cloudinary_url</c>, cloudinary_npm
/// <c>url</c>, CloudinaryDotNet <c>Url.BuildUrl</c>):
/// <c>{DeliveryBaseUrl}/{cloud}/image/upload/[s--SIGNATURE--/]{steps}/[v{version}/]{public_id}[.{format}]</c>.
/// Transformation steps are joined by <c>/</c>, components within a step by <c>,</c> in the SDKs' order. By default a
/// final <c>f_auto,q_auto</c> step lets Cloudinary pick the best format and quality for each browser.
/// <list type="bullet">
/// <item>The public id is unescaped, then escaped as the SDKs' <c>smart_escape</c> does (everything but
/// <c>A-Za-z0-9_.-/:</c> as upper-case <c>%XX</c> of its UTF-8 bytes), so an id that is already escaped
/// (<c>a%20b</c>) is not escaped twice.</item>
/// <item>An asset in a folder with no version given gets <c>v1</c> (the SDKs' <c>force_version</c> default), unless
/// <see cref="ForceVersion"/> is turned off.</item>
/// <item>A signed URL carries <c>s--SIGNATURE--</c> right after <c>upload/</c>: the URL-safe Base64 of the hash of
/// <c>{steps}/{public_id}.{format}</c> + API secret (the version left out), 8 characters of SHA-1 (or of SHA-256 with
/// <see cref="CloudinaryOptions.SignatureAlgorithm"/> = SHA-256), or 32 characters of SHA-256 with
/// <see cref="LongSignature"/> (the SDKs' <c>long_url_signature</c>).</item>
/// </list>
/// </summary>
/// <example><code>
/// var url = new CloudinaryUrlBuilder(options)
///     .Transform(t => t.Crop("fill").Width(400).Height(300))
///     .Version(1712345678)
///     .Build("stefna/neo-glitch/results/abc", "png");
/// // https://res.cloudinary.com/demo/image/upload/c_fill,h_300,w_400/f_auto,q_auto/v1712345678/stefna/neo-glitch/results/abc.png
/// </code></example>
public sealed partial class CloudinaryUrlBuilder
{
    private readonly string _deliveryBase;
    private readonly string _cloudName;
    private readonly string? _apiSecret;
    private readonly List<CloudinaryTransformation> _steps = [];
    private bool _autoFormat = true;
    private bool _autoQuality = true;
    private long? _version;
    private bool _forceVersion = true;
    private bool _signed;
    private bool _longSignature;
    private CloudinarySignatureAlgorithm _algorithm;

    /// <summary>Creates a builder for the account in <paramref name="options"/> (its signature algorithm and
    /// <see cref="CloudinaryOptions.LongUrlSignature"/> apply to signed URLs).</summary>
    /// <param name="options">The options (cloud name, delivery base, secret for signed URLs).</param>
    public CloudinaryUrlBuilder(CloudinaryOptions options)
        : this((options ?? throw new ArgumentNullException(nameof(options))).CloudName, options.DeliveryBaseUrl, options.ApiSecret)
    {
        _algorithm = options.SignatureAlgorithm;
        _longSignature = options.LongUrlSignature;
    }

    /// <summary>Creates a builder.</summary>
    /// <param name="cloudName">The cloud name.</param>
    /// <param name="deliveryBaseUrl">The delivery base, e.g. <c>https://res.cloudinary.com</c>.</param>
    /// <param name="apiSecret">The API secret; needed only for signed URLs.</param>
    public CloudinaryUrlBuilder(string cloudName, string deliveryBaseUrl = CloudinaryOptions.DefaultDeliveryBaseUrl, string? apiSecret = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(cloudName);
        ArgumentException.ThrowIfNullOrWhiteSpace(deliveryBaseUrl);
        _cloudName = cloudName;
        _deliveryBase = deliveryBaseUrl.TrimEnd('/');
        _apiSecret = string.IsNullOrEmpty(apiSecret) ? null : apiSecret;
    }

    /// <summary>Adds a transformation step (steps are applied in order).</summary>
    /// <param name="configure">Fills the step, e.g. <c>t =&gt; t.Crop("fill").Width(400).Height(300)</c>.</param>
    /// <returns>This builder.</returns>
    public CloudinaryUrlBuilder Transform(Action<CloudinaryTransformation> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var step = new CloudinaryTransformation();
        configure(step);
        if (step.Components.Count > 0)
        {
            _steps.Add(step);
        }

        return this;
    }

    /// <summary>Adds a resize step: <c>c_{crop},h_{height},w_{width}</c>.</summary>
    /// <param name="width">The width.</param>
    /// <param name="height">The height.</param>
    /// <param name="crop">The crop mode. Default <c>fill</c>.</param>
    /// <returns>This builder.</returns>
    public CloudinaryUrlBuilder Resize(int width, int height, string crop = "fill") =>
        Transform(t => t.Crop(crop).Width(width).Height(height));

    /// <summary>Whether a final <c>f_auto</c> is added. Default on.</summary>
    /// <param name="enabled">On or off.</param>
    /// <returns>This builder.</returns>
    public CloudinaryUrlBuilder AutoFormat(bool enabled = true)
    {
        _autoFormat = enabled;
        return this;
    }

    /// <summary>Whether a final <c>q_auto</c> is added. Default on.</summary>
    /// <param name="enabled">On or off.</param>
    /// <returns>This builder.</returns>
    public CloudinaryUrlBuilder AutoQuality(bool enabled = true)
    {
        _autoQuality = enabled;
        return this;
    }

    /// <summary>Puts <c>v{version}</c> before the public id (busts CDN caches after an overwrite).</summary>
    /// <param name="version">The version from the upload answer; <see langword="null"/> for none (then an asset in a
    /// folder still gets <c>v1</c> unless <see cref="ForceVersion"/> is off).</param>
    /// <returns>This builder.</returns>
    public CloudinaryUrlBuilder Version(long? version)
    {
        _version = version;
        return this;
    }

    /// <summary>Whether an asset in a folder gets <c>v1</c> when no version is given, as the SDKs'
    /// <c>force_version</c> (default on).</summary>
    /// <param name="enabled">On or off.</param>
    /// <returns>This builder.</returns>
    public CloudinaryUrlBuilder ForceVersion(bool enabled = true)
    {
        _forceVersion = enabled;
        return this;
    }

    /// <summary>Makes a signed URL (<c>s--SIGNATURE--</c> after <c>upload/</c>), so the transformation cannot be changed
    /// by whoever holds the URL (needed when the account has strict transformations).</summary>
    /// <param name="enabled">On or off.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="InvalidOperationException">No API secret was given.</exception>
    public CloudinaryUrlBuilder Signed(bool enabled = true)
    {
        if (enabled && _apiSecret is null)
        {
            throw new InvalidOperationException("Signed delivery URLs need the API secret.");
        }

        _signed = enabled;
        return this;
    }

    /// <summary>The hash of a short (8-character) URL signature. Default: <see cref="CloudinaryOptions.SignatureAlgorithm"/>
    /// (SHA-1 when the builder was made without options).</summary>
    /// <param name="algorithm">SHA-1 or SHA-256.</param>
    /// <returns>This builder.</returns>
    public CloudinaryUrlBuilder SignatureAlgorithm(CloudinarySignatureAlgorithm algorithm)
    {
        _algorithm = algorithm;
        return this;
    }

    /// <summary>Signs with 32 characters of SHA-256 instead of 8 (the SDKs' <c>long_url_signature</c>). Default:
    /// <see cref="CloudinaryOptions.LongUrlSignature"/>.</summary>
    /// <param name="enabled">On or off.</param>
    /// <returns>This builder.</returns>
    public CloudinaryUrlBuilder LongSignature(bool enabled = true)
    {
        _longSignature = enabled;
        return this;
    }

    /// <summary>The transformation part of the path (steps joined by <c>/</c>), without the signature or version.</summary>
    /// <returns>E.g. <c>c_fill,h_300,w_400/f_auto,q_auto</c>; empty when there is none.</returns>
    public string TransformationPath()
    {
        var steps = _steps.Select(s => s.ToString()).ToList();
        var auto = new List<string>(2);
        if (_autoFormat)
        {
            auto.Add("f_auto");
        }

        if (_autoQuality)
        {
            auto.Add("q_auto");
        }

        if (auto.Count > 0)
        {
            steps.Add(string.Join(',', auto));
        }

        return string.Join('/', steps);
    }

    /// <summary>Builds the URL of an image.</summary>
    /// <param name="publicId">The public id, folders included (escaped as the SDKs' <c>smart_escape</c>; an already
    /// escaped id is not escaped twice).</param>
    /// <param name="format">The extension to deliver, e.g. <c>png</c>; none when <see langword="null"/>.</param>
    /// <returns>The delivery URL.</returns>
    public string Build(string publicId, string? format = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(publicId);
        var source = SmartEscape(Uri.UnescapeDataString(RepeatedSlashes().Replace(publicId.Trim('/'), "/")));
        if (!string.IsNullOrEmpty(format))
        {
            source += "." + format.TrimStart('.');
        }

        var version = _version?.ToString(CultureInfo.InvariantCulture);
        if (version is null && _forceVersion && source.Contains('/', StringComparison.Ordinal) && !VersionPrefix().IsMatch(source))
        {
            version = "1";
        }

        var transformation = TransformationPath();
        var url = new StringBuilder(_deliveryBase).Append('/').Append(_cloudName).Append("/image/upload/");
        if (_signed)
        {
            var toSign = transformation.Length > 0 ? transformation + "/" + source : source;
            url.Append(CloudinarySignature.DeliverySignature(toSign, _apiSecret!, _algorithm, _longSignature)).Append('/');
        }

        if (transformation.Length > 0)
        {
            url.Append(transformation).Append('/');
        }

        if (version is not null)
        {
            url.Append('v').Append(version).Append('/');
        }

        return url.Append(source).ToString();
    }

    /// <summary>Escapes a public id as the SDKs' <c>smart_escape</c>: every UTF-8 byte outside <c>A-Za-z0-9_.-/:</c>
    /// becomes upper-case <c>%XX</c>.</summary>
    internal static string SmartEscape(string text)
    {
        var result = new StringBuilder(text.Length);
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-' or '/' or ':')
            {
                result.Append(c);
            }
            else
            {
                result.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return result.ToString();
    }

    [GeneratedRegex("/{2,}")]
    private static partial Regex RepeatedSlashes();

    [GeneratedRegex("^v[0-9]+")]
    private static partial Regex VersionPrefix();
}
