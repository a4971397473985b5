using System.Text;
using Microsoft.Extensions.Time.Testing;
using Stefna.Sdk.Webhooks;

namespace Stefna.Sdk.Tests;

/// <summary>Standard Webhooks signing and the receivers' verification helper.</summary>
public sealed class WebhookSignatureTests
{
    // The specification's published test vector (the reference libraries' signing test).
    private const string VectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string VectorId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const string VectorTimestamp = "1614265330";
    private const string VectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    private static readonly byte[] VectorBody = Encoding.UTF8.GetBytes("""{"test": 2432232314}""");

    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeSeconds(1614265330));

    [Fact]
    public void Signing_matches_the_specifications_test_vector()
    {
        Assert.Equal(VectorSignature, WebhookSignature.Sign(WebhookSignature.DecodeSecret(VectorSecret), VectorId, VectorTimestamp, VectorBody));

        // The prefix is optional when decoding, as in the reference libraries.
        Assert.Equal(WebhookSignature.DecodeSecret(VectorSecret), WebhookSignature.DecodeSecret(VectorSecret["whsec_".Length..]));
    }

    [Fact]
    public void Verifier_accepts_the_test_vector_and_refuses_tampering_and_stale_or_future_timestamps()
    {
        var verifier = new WebhookVerifier([VectorSecret], _time);
        Assert.True(verifier.TryVerify(VectorId, VectorTimestamp, VectorSignature, VectorBody, out var problem), problem);

        Assert.False(verifier.TryVerify(VectorId, VectorTimestamp, VectorSignature, Encoding.UTF8.GetBytes("""{"test": 2432232315}"""), out problem));
        Assert.Equal("no signature matches", problem);
        Assert.False(verifier.TryVerify("msg_other", VectorTimestamp, VectorSignature, VectorBody, out _));
        Assert.False(verifier.TryVerify(VectorId, VectorTimestamp, "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", VectorBody, out _));
        Assert.False(verifier.TryVerify(VectorId, VectorTimestamp, "v2," + VectorSignature[3..], VectorBody, out _));
        Assert.False(verifier.TryVerify(null, VectorTimestamp, VectorSignature, VectorBody, out problem));
        Assert.StartsWith("missing", problem, StringComparison.Ordinal);

        // Tolerance of 5 minutes either way, on the given clock.
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.True(verifier.TryVerify(VectorId, VectorTimestamp, VectorSignature, VectorBody, out _));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(verifier.TryVerify(VectorId, VectorTimestamp, VectorSignature, VectorBody, out problem));
        Assert.Equal("webhook-timestamp is too old", problem);
        var early = new WebhookVerifier([VectorSecret], new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1614265330 - 301)));
        Assert.False(early.TryVerify(VectorId, VectorTimestamp, VectorSignature, VectorBody, out problem));
        Assert.Equal("webhook-timestamp is too new", problem);
    }

    [Fact]
    public void During_a_rotation_every_secret_signs_and_a_receiver_with_either_secret_accepts()
    {
        var newSecret = WebhookSignature.NewSecret();
        var header = WebhookSignature.SignAll([WebhookSignature.DecodeSecret(newSecret), WebhookSignature.DecodeSecret(VectorSecret)], VectorId, VectorTimestamp, VectorBody);
        var parts = header.Split(' ');
        Assert.Equal(2, parts.Length);
        Assert.Equal(VectorSignature, parts[1]);

        Assert.True(new WebhookVerifier([VectorSecret], _time).TryVerify(VectorId, VectorTimestamp, header, VectorBody, out _));
        Assert.True(new WebhookVerifier([newSecret], _time).TryVerify(VectorId, VectorTimestamp, header, VectorBody, out _));
        Assert.True(new WebhookVerifier([newSecret, VectorSecret], _time).TryVerify(VectorId, VectorTimestamp, VectorSignature, VectorBody, out _));
        Assert.False(new WebhookVerifier([WebhookSignature.NewSecret()], _time).TryVerify(VectorId, VectorTimestamp, header, VectorBody, out _));

        var thrown = Assert.Throws<WebhookVerificationException>(() => new WebhookVerifier([newSecret], _time).Verify(_ => null, VectorBody));
        Assert.DoesNotContain(newSecret, thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Secrets_that_are_not_whsec_base64_of_24_to_64_bytes_are_refused_without_echoing_them()
    {
        var bad = Assert.Throws<FormatException>(() => WebhookSignature.DecodeSecret("whsec_not*base64"));
        Assert.DoesNotContain("not*base64", bad.Message, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => WebhookSignature.DecodeSecret("whsec_" + Convert.ToBase64String(new byte[8])));
    }
}
