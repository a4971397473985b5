using System.Security.Cryptography;
using System.Text;

namespace Stefna.Sdk.Cloudinary.Tests;

public class SignatureTests
{
    // The worked example of Cloudinary's "Generating authentication signatures" documentation.
    private static readonly KeyValuePair<string, object?>[] DocExample =
    [
        new("timestamp", 1315060510),
        new("public_id", "sample_image"),
        new("eager", "w_400,h_300,c_pad|w_260,h_200,c_crop"),
    ];

    [Fact]
    public void Documentation_example_signs_to_the_documented_sha1()
    {
        Assert.Equal("eager=w_400,h_300,c_pad|w_260,h_200,c_crop&public_id=sample_image&timestamp=1315060510", CloudinarySignature.StringToSign(DocExample));
        Assert.Equal("bfd09f95f331f558cbd1320e67aa8d488770583e", CloudinarySignature.Sign(DocExample, "abcd"));
    }

    [Fact]
    public void Sha256_variant_hashes_the_same_string_with_sha256()
    {
        var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("eager=w_400,h_300,c_pad|w_260,h_200,c_crop&public_id=sample_image&timestamp=1315060510abcd")));
        var actual = CloudinarySignature.Sign(DocExample, "abcd", CloudinarySignatureAlgorithm.Sha256);
        Assert.Equal(64, actual.Length);
        Assert.Equal(expected, actual);
        Assert.NotEqual(CloudinarySignature.Sign(DocExample, "abcd"), actual);
    }

    [Fact]
    public void Array_values_are_comma_joined()
    {
        KeyValuePair<string, object?>[] parameters =
        [
            new("tags", new[] { "a", "b", "c" }),
            new("timestamp", 10L),
        ];
        Assert.Equal("tags=a,b,c&timestamp=10", CloudinarySignature.StringToSign(parameters));
    }

    [Fact]
    public void File_cloud_name_resource_type_api_key_and_signature_are_not_signed_and_empty_values_are_dropped()
    {
        KeyValuePair<string, object?>[] withExtras =
        [
            .. DocExample,
            new("file", "https://example.com/a.png"),
            new("cloud_name", "demo"),
            new("resource_type", "image"),
            new("api_key", "1234"),
            new("signature", "deadbeef"),
            new("folder", ""),
            new("context", null),
        ];
        Assert.Equal(CloudinarySignature.StringToSign(DocExample), CloudinarySignature.StringToSign(withExtras));
        Assert.Equal("bfd09f95f331f558cbd1320e67aa8d488770583e", CloudinarySignature.Sign(withExtras, "abcd"));
    }

    [Fact]
    public void Parameters_are_sorted_by_name_ordinally()
    {
        KeyValuePair<string, string>[] parameters = [new("timestamp", "1"), new("overwrite", "true"), new("folder", "f"), new("context", "a=b")];
        Assert.Equal("context=a=b&folder=f&overwrite=true&timestamp=1", CloudinarySignature.StringToSign(parameters.Select(p => new KeyValuePair<string, object?>(p.Key, p.Value))));
    }

    [Fact]
    public void Context_escapes_equals_pipe_and_backslash_in_values()
    {
        var context = new Dictionary<string, string> { ["user"] = "a=b|c", ["type"] = "neo-glitch", ["path"] = @"x\y" };
        var text = CloudinaryClient.FormatContext(context);
        Assert.Equal(@"user=a\=b\|c|type=neo-glitch|path=x\\y", text);
        Assert.Equal(context, Stefna.Sdk.Testing.Fakes.CloudinaryEmulator.ParseContext(text));
    }
}
