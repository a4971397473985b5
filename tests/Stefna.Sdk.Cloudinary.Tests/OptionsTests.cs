using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Stefna.Sdk.Cloudinary.Tests;

public class OptionsTests
{
    [Fact]
    public void Parses_a_cloudinary_url()
    {
        var options = CloudinaryOptions.Parse("cloudinary://123456789012345:Ab-cD_ef%2Bgh@my-cloud");
        Assert.Equal("my-cloud", options.CloudName);
        Assert.Equal("123456789012345", options.ApiKey);
        Assert.Equal("Ab-cD_ef+gh", options.ApiSecret);
        Assert.Equal(CloudinaryOptions.DefaultApiBaseUrl, options.ApiBaseUrl);
    }

    [Fact]
    public void Accepts_the_console_form_with_the_variable_name_and_an_upload_prefix()
    {
        var options = CloudinaryOptions.Parse("CLOUDINARY_URL=cloudinary://k:s@demo?upload_prefix=https%3A%2F%2Fapi-eu.cloudinary.com");
        Assert.Equal("demo", options.CloudName);
        Assert.Equal("https://api-eu.cloudinary.com", options.ApiBaseUrl);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("https://key:topsecret@demo", "does not start with 'cloudinary://'")]
    [InlineData("cloudinary://key:topsecret", "'@CLOUD_NAME' part is missing")]
    [InlineData("cloudinary://keyonly@demo", "':API_SECRET' part is missing")]
    [InlineData("cloudinary://:topsecret@demo", "API key is empty")]
    [InlineData("cloudinary://key:@demo", "API secret is empty")]
    [InlineData("cloudinary://key:topsecret@", "cloud name is empty")]
    [InlineData("cloudinary://key:topsecret@bad.cloud", "may contain only letters")]
    public void Rejects_bad_urls_with_a_clear_message_that_never_repeats_the_secret(string url, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => CloudinaryOptions.Parse(url));
        Assert.Contains("cloudinary://API_KEY:API_SECRET@CLOUD_NAME", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("topsecret", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    // The secret where a path would go, after the cloud name: with or without a ':' part.
    [InlineData("cloudinary://key@demo/s3cr3t-in-path")]
    [InlineData("cloudinary://key:@demo/s3cr3t-in-path")]
    [InlineData("cloudinary://key:other@demo/s3cr3t-in-path")]
    [InlineData("CLOUDINARY_URL=cloudinary://key@demo/s3cr3t-in-path")]
    // The secret in the key's place, or alone.
    [InlineData("cloudinary://s3cr3t-in-path@demo")]
    [InlineData("cloudinary://key:s3cr3t-in-path@demo/extra")]
    [InlineData("cloudinary://key:s3cr3t-in-path@")]
    [InlineData("https://key:s3cr3t-in-path@demo")]
    public void A_secret_in_the_wrong_place_is_never_echoed(string url)
    {
        var ex = Assert.Throws<FormatException>(() => CloudinaryOptions.Parse(url));
        Assert.DoesNotContain("s3cr3t-in-path", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t-in-path", ex.ToString(), StringComparison.Ordinal);
        var registration = Assert.Throws<FormatException>(() => new ServiceCollection().AddStefna().UseCloudinary(url));
        Assert.DoesNotContain("s3cr3t-in-path", registration.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validation_never_echoes_a_secret_left_in_the_cloud_name_nor_the_user_info_of_a_url()
    {
        var services = new ServiceCollection();
        services.AddStefna().UseCloudinary(o =>
        {
            o.CloudName = "demo/s3cr3t-in-name";
            o.ApiKey = "k";
            o.ApiSecret = "s";
            o.ApiBaseUrl = "ftp://proxyuser:pr0xy-pass@proxy.example/x";
            o.DeliveryBaseUrl = "not a url://user:d3livery-pass@host";
        });
        using var provider = services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<CloudinaryOptions>>().Value);

        Assert.Contains(ex.Failures, f => f.Contains("CloudName", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("ApiBaseUrl must be an absolute http(s) URL; got 'ftp://***@proxy.example/x'", StringComparison.Ordinal));
        foreach (var secret in new[] { "s3cr3t-in-name", "pr0xy-pass", "proxyuser", "d3livery-pass" })
        {
            Assert.DoesNotContain(secret, ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ToString_hides_user_info_in_the_endpoints()
    {
        var options = CloudinaryOptions.Parse("cloudinary://key123:s3cr3t-value@demo");
        options.ApiBaseUrl = "https://proxyuser:pr0xy-pass@proxy.example";
        Assert.DoesNotContain("pr0xy-pass", options.ToString(), StringComparison.Ordinal);
        Assert.Contains("api https://***@proxy.example", options.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ToString_redacts_the_secret()
    {
        var options = CloudinaryOptions.Parse("cloudinary://key123:s3cr3t-value@demo");
        var text = options.ToString();
        Assert.DoesNotContain("s3cr3t-value", text, StringComparison.Ordinal);
        Assert.Contains("key123:***@demo", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Validation_reports_every_bad_field_at_start()
    {
        var services = new ServiceCollection();
        services.AddStefna().UseCloudinary(o =>
        {
            o.CloudName = "bad cloud";
            o.ApiBaseUrl = "ftp://nope";
            o.FolderPrefix = "/lead";
            o.UploadTimeout = TimeSpan.Zero;
        });
        using var provider = services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<CloudinaryOptions>>().Value);
        Assert.Contains(ex.Failures, f => f.Contains("CloudName", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("ApiKey is required", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("ApiSecret is required", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("ApiBaseUrl", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("FolderPrefix", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("UploadTimeout", StringComparison.Ordinal));
    }

    [Fact]
    public void The_retry_pipeline_is_built_only_from_validated_options()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStefna().UseCloudinary(o =>
        {
            o.ApplyUrl("cloudinary://k:s@demo");
            o.MaxRateLimitRetries = -1;
            o.MaxServerErrorRetries = 11;
            o.ServerErrorBackoff = TimeSpan.FromSeconds(-1);
        });
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<CloudinaryClient>());
        Assert.Contains(ex.Failures, f => f.Contains("MaxRateLimitRetries", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("MaxServerErrorRetries", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("ServerErrorBackoff", StringComparison.Ordinal));
    }

    [Fact]
    public void UseCloudinary_with_a_url_registers_the_storage_and_the_api_base_override()
    {
        var services = new ServiceCollection();
        services.AddStefna().UseCloudinary("cloudinary://k:s@demo", "http://127.0.0.1:9");
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<CloudinaryOptions>>().Value;
        Assert.Equal("http://127.0.0.1:9", options.ApiBaseUrl);
        Assert.IsType<CloudinaryAssetStorage>(provider.GetRequiredService<Stefna.Sdk.Assets.IAssetStorage>());
    }

    [Fact]
    public void UseCloudinary_with_a_malformed_url_fails_at_registration()
    {
        var services = new ServiceCollection();
        var ex = Assert.Throws<FormatException>(() => services.AddStefna().UseCloudinary("cloudinary://k:hidden"));
        Assert.DoesNotContain("hidden", ex.Message, StringComparison.Ordinal);
    }
}
