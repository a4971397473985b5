using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Cloudinary;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Stores the SDK's images in Cloudinary.</summary>
public static class CloudinaryBuilderExtensions
{
    /// <summary>Uses Cloudinary with the account in the <c>CLOUDINARY_URL</c> environment variable.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">The variable is not set.</exception>
    public static IStefnaBuilder UseCloudinary(this IStefnaBuilder builder)
    {
        var url = Environment.GetEnvironmentVariable(CloudinaryOptions.EnvironmentVariable);
        return string.IsNullOrWhiteSpace(url)
            ? throw new InvalidOperationException($"UseCloudinary() reads the account from {CloudinaryOptions.EnvironmentVariable}, which is not set.")
            : builder.UseCloudinary(url);
    }

    /// <summary>Uses Cloudinary with the account in a <c>CLOUDINARY_URL</c>.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="cloudinaryUrl"><c>cloudinary://API_KEY:API_SECRET@CLOUD_NAME</c>.</param>
    /// <param name="apiBaseUrl">Another API base (an emulator, a proxy); Cloudinary's own when <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="FormatException">The URL is malformed (the message never repeats the secret).</exception>
    public static IStefnaBuilder UseCloudinary(this IStefnaBuilder builder, string cloudinaryUrl, string? apiBaseUrl = null)
    {
        // Parse now so a malformed URL fails at registration, with a message that says what is wrong.
        var parsed = CloudinaryOptions.Parse(cloudinaryUrl);
        return builder.UseCloudinary(o =>
        {
            o.CloudName = parsed.CloudName;
            o.ApiKey = parsed.ApiKey;
            o.ApiSecret = parsed.ApiSecret;
            o.ApiBaseUrl = apiBaseUrl ?? parsed.ApiBaseUrl;
        });
    }

    /// <summary>Uses Cloudinary configured in code.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="configure">Fills <see cref="CloudinaryOptions"/> (<see cref="CloudinaryOptions.ApplyUrl"/> reads a <c>CLOUDINARY_URL</c>).</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseCloudinary(this IStefnaBuilder builder, Action<CloudinaryOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var services = builder.Services;
        services.AddOptions<CloudinaryOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CloudinaryOptions>, CloudinaryOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        // Timeouts are applied per call from CloudinaryOptions.UploadTimeout, so the client itself never cuts a large
        // upload off at HttpClient's 100 s default. The storage is a singleton and asks the factory for a client per
        // call, so handler rotation (DNS changes) keeps working.
        services.AddHttpClient(CloudinaryClient.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan);
        services.TryAddSingleton<CloudinaryClient>();
        services.TryAddSingleton<CloudinaryAssetStorage>();
        return builder.UseAssetStorage(sp => sp.GetRequiredService<CloudinaryAssetStorage>());
    }
}
