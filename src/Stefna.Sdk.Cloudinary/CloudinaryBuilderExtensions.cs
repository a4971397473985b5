using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Cloudinary;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Stores the SDK's images in Cloudinary.</summary>
public static class CloudinaryBuilderExtensions
{
    /// <summary>Uses Cloudinary with the account configured at <c>Stefna:Cloudinary</c> (<c>CloudName</c>, <c>ApiKey</c>,
    /// <c>ApiSecret</c>, <c>ApiBaseUrl</c>, <c>FolderPrefix</c>, …) when the host binds configuration, else the one in
    /// the <c>CLOUDINARY_URL</c> environment variable. Validated at start-up; failures name the configuration key.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="FormatException"><c>CLOUDINARY_URL</c> is set and malformed (the message never repeats the secret).</exception>
    public static IStefnaBuilder UseCloudinary(this IStefnaBuilder builder)
    {
        var url = Environment.GetEnvironmentVariable(CloudinaryOptions.EnvironmentVariable);
        var fromEnvironment = string.IsNullOrWhiteSpace(url) ? null : CloudinaryOptions.Parse(url);
        return builder.UseCloudinary(o =>
        {
            // The variable is the fallback: an account named in configuration wins.
            if (fromEnvironment is not null && string.IsNullOrWhiteSpace(o.CloudName) && string.IsNullOrWhiteSpace(o.ApiKey) && string.IsNullOrWhiteSpace(o.ApiSecret))
            {
                o.CloudName = fromEnvironment.CloudName;
                o.ApiKey = fromEnvironment.ApiKey;
                o.ApiSecret = fromEnvironment.ApiSecret;
                if (o.ApiBaseUrl == CloudinaryOptions.DefaultApiBaseUrl)
                {
                    o.ApiBaseUrl = fromEnvironment.ApiBaseUrl;
                }
            }
        });
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

    /// <summary>Uses Cloudinary configured in code (applied after <c>Stefna:Cloudinary</c> when the host binds configuration).</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="configure">Fills <see cref="CloudinaryOptions"/> (<see cref="CloudinaryOptions.ApplyUrl"/> reads a <c>CLOUDINARY_URL</c>).</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseCloudinary(this IStefnaBuilder builder, Action<CloudinaryOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var services = builder.Services;
        services.AddOptions<CloudinaryOptions>().BindStefnaConfiguration(CloudinaryOptions.ConfigurationKey).Configure(configure).ValidateOnStart();
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
