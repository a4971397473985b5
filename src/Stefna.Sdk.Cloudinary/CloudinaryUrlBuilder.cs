using System.Globalization;
using System.Text;

namespace Stefna.Sdk.Cloudinary;

/// <summary>
/// One step of a Cloudinary transformation chain: comma-joined components such as <c>c_fill,w_300,h_200</c>, kept in
/// the order they were added.
/// </summary>
public sealed class CloudinaryTransformation
{
    private readonly List<string> _components = [];

    /// <summary>The components, e.g. <c>c_fill</c>, <c>w_300</c>.</summary>
    public IReadOnlyList<string> Components => _components;

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

    /// <summary>Any other parameter, written as <c>{key}_{value}</c>.</summary>
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

        _components.Add(key + "_" + value);
        return this;
    }

    /// <summary>The step as it appears in a URL.</summary>
    /// <returns>E.g. <c>c_fill,w_300,h_200</c>.</returns>
    public override string ToString() => string.Join(',', _components);

    private static string Positive(int pixels) => pixels > 0
        ? pixels.ToString(CultureInfo.InvariantCulture)
        : throw new ArgumentOutOfRangeException(nameof(pixels), pixels, "Dimensions must be positive.");
}

/// <summary>
/// Builds Cloudinary delivery URLs:
/// <c>{DeliveryBaseUrl}/{cloud}/image/upload/[s--SIGNATURE--/]{steps}/[v{version}/]{public_id}[.{format}]</c>.
/// Transformation steps are joined by <c>/</c>, components within a step by <c>,</c>. By default a final
/// <c>f_auto,q_auto</c> step lets Cloudinary pick the best format and quality for each browser.
/// A signed URL carries <c>s--XXXXXXXX--</c> right after <c>upload/</c>: the first 8 characters of the URL-safe
/// Base64 of SHA-1(<c>{steps}/{public_id}.{format}</c> + API secret), that is, the path after <c>upload/</c> with
/// the version left out (Cloudinary's SDKs sign it that way).
/// </summary>
/// <example><code>
/// var url = new CloudinaryUrlBuilder(options)
///     .Transform(t => t.Crop("fill").Width(400).Height(300))
///     .Version(1712345678)
///     .Build("stefna/neo-glitch/results/abc", "png");
/// // https://res.cloudinary.com/demo/image/upload/c_fill,w_400,h_300/f_auto,q_auto/v1712345678/stefna/neo-glitch/results/abc.png
/// </code></example>
public sealed class CloudinaryUrlBuilder
{
    private readonly string _deliveryBase;
    private readonly string _cloudName;
    private readonly string? _apiSecret;
    private readonly List<CloudinaryTransformation> _steps = [];
    private bool _autoFormat = true;
    private bool _autoQuality = true;
    private long? _version;
    private bool _signed;

    /// <summary>Creates a builder for the account in <paramref name="options"/>.</summary>
    /// <param name="options">The options (cloud name, delivery base, secret for signed URLs).</param>
    public CloudinaryUrlBuilder(CloudinaryOptions options)
        : this((options ?? throw new ArgumentNullException(nameof(options))).CloudName, options.DeliveryBaseUrl, options.ApiSecret)
    {
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

    /// <summary>Adds a resize step: <c>c_{crop},w_{width},h_{height}</c>.</summary>
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
    /// <param name="version">The version from the upload answer; <see langword="null"/> for none.</param>
    /// <returns>This builder.</returns>
    public CloudinaryUrlBuilder Version(long? version)
    {
        _version = version;
        return this;
    }

    /// <summary>Makes a signed URL (<c>s--XXXXXXXX--</c> after <c>upload/</c>), so the transformation cannot be changed by
    /// whoever holds the URL (needed when the account has strict transformations).</summary>
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

    /// <summary>The transformation part of the path (steps joined by <c>/</c>), without the signature or version.</summary>
    /// <returns>E.g. <c>c_fill,w_400,h_300/f_auto,q_auto</c>; empty when there is none.</returns>
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
    /// <param name="publicId">The public id, folders included (each segment is URL-escaped).</param>
    /// <param name="format">The extension to deliver, e.g. <c>png</c>; none when <see langword="null"/>.</param>
    /// <returns>The delivery URL.</returns>
    public string Build(string publicId, string? format = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(publicId);
        var source = string.Join('/', publicId.Trim('/').Split('/').Select(Uri.EscapeDataString));
        if (!string.IsNullOrEmpty(format))
        {
            source += "." + format.TrimStart('.');
        }

        var transformation = TransformationPath();
        var url = new StringBuilder(_deliveryBase).Append('/').Append(_cloudName).Append("/image/upload/");
        if (_signed)
        {
            var toSign = transformation.Length > 0 ? transformation + "/" + source : source;
            url.Append(CloudinarySignature.DeliverySignature(toSign, _apiSecret!)).Append('/');
        }

        if (transformation.Length > 0)
        {
            url.Append(transformation).Append('/');
        }

        if (_version is { } version)
        {
            url.Append('v').Append(version.ToString(CultureInfo.InvariantCulture)).Append('/');
        }

        return url.Append(source).ToString();
    }
}
