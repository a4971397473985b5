using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk;
using Stefna.Sdk.Testing.Fakes;
using Stefna.TestUtils;
using Xunit.Abstractions;

namespace Stefna.Reliability.Tests;

/// <summary>
/// A provider answering with an image URL whose body is far larger than the SDK accepts: the download is capped while
/// streaming (MaxImageBytes × 4), so the job fails with the oversize error after reading about the limit, not the whole
/// body, whatever the Content-Length says (honest, absent or lying). The server is a raw HTTP/1.1 server on 127.0.0.1
/// that counts the bytes it managed to send.
/// </summary>
public sealed class ProviderDownloadCapTests(ITestOutputHelper output)
{
    private const string Key = "aiml-download-cap-key-0b7e";
    private const long MaxImageBytes = 256 * 1024;          // the download limit is 4 × this: 1 MiB
    private const long Limit = MaxImageBytes * 4;
    private const long Served = 64L * 1024 * 1024;          // what the server would send if read to the end
    private const long MostSent = 16L * 1024 * 1024;        // the limit plus socket and server buffers, with room

    public static TheoryData<string> Framings => ["honest Content-Length", "no Content-Length (chunked)", "no Content-Length (close-delimited)", "lying Content-Length (100, then chunked)"];

    [Theory]
    [MemberData(nameof(Framings))]
    public async Task An_oversize_provider_download_stops_at_the_limit_and_fails_the_job_with_the_oversize_error(string framing)
    {
        await using var server = await RawHttpServer.StartAsync(framing, Served, TestImages.Png(8, 8, seed: 1));
        await using var emulator = await AimlApiEmulator.StartAsync(Key);
        emulator.Enqueue(new AimlScriptedReply(200, $$"""{"data":[{"url":"{{server.Url}}"}]}"""));
        await using var host = StartHost(emulator);

        var job = await host.RunAsync(new GenerationRequest { Type = "custom-prompt", UserId = "user-big", Prompt = "an endless image" }, TimeSpan.FromSeconds(60));
        var sent = await server.SentAsync();
        output.WriteLine($"{framing}: the server sent {sent:N0} of {Served:N0} bytes before the client stopped reading (limit {Limit:N0})");

        Assert.Equal(GenerationStatus.Failed, job.Status);
        Assert.Equal(GenerationErrorCategory.ProviderError, job.Error!.Category);
        Assert.Equal("The generated image is larger than the SDK accepts.", job.Error.Message);
        Assert.Equal(1, job.Attempts);
        Assert.True(sent < MostSent, $"the server sent {sent:N0} bytes: the body was read far past the {Limit:N0}-byte limit");
        Assert.Equal(0, await host.CountRowsAsync(GenerationStatus.Completed));
        Assert.Empty(host.StoredFiles());
        Figures.Record("bad input (provider): oversize image download, " + framing, new Dictionary<string, object>
        {
            ["bad_inputs_tried"] = 1, ["jobs_run"] = 1, ["bytes_sent_by_server"] = sent, ["download_limit"] = Limit, ["code"] = job.Error.Code,
        });
    }

    [Fact]
    public async Task A_provider_download_within_the_limit_is_stored()
    {
        // The control: the same path, with a body under the limit and no Content-Length, completes.
        var png = TestImages.Png(64, 48, seed: 9);
        await using var server = await RawHttpServer.StartAsync("no Content-Length (chunked)", png.Length, png);
        await using var emulator = await AimlApiEmulator.StartAsync(Key);
        emulator.Enqueue(new AimlScriptedReply(200, $$"""{"data":[{"url":"{{server.Url}}"}]}"""));
        await using var host = StartHost(emulator);

        var job = await host.RunAsync(new GenerationRequest { Type = "custom-prompt", UserId = "user-big", Prompt = "a small image" }, TimeSpan.FromSeconds(60));

        Assert.Equal(GenerationStatus.Completed, job.Status);
        Assert.Equal(png.Length, await server.SentAsync());
    }

    private static SdkHost StartHost(AimlApiEmulator emulator) => SdkHost.Start(
        b => b.UseAimlApi(o =>
        {
            o.ApiKey = Key;
            o.BaseUrl = emulator.BaseUrl;
        }),
        o => o.MaxImageBytes = MaxImageBytes);

    /// <summary>One-request HTTP/1.1 server on 127.0.0.1 writing a body of a given size in a chosen framing.</summary>
    private sealed class RawHttpServer : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly Task<long> _serving;

        private RawHttpServer(TcpListener listener, string framing, long size, byte[] head)
        {
            _listener = listener;
            _serving = ServeAsync(framing, size, head);
        }

        public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/result.png";

        public static Task<RawHttpServer> StartAsync(string framing, long size, byte[] head)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return Task.FromResult(new RawHttpServer(listener, framing, size, head));
        }

        /// <summary>The bytes of body written before the client went away (or all of them).</summary>
        public Task<long> SentAsync() => _serving.WaitAsync(TimeSpan.FromSeconds(30));

        private async Task<long> ServeAsync(string framing, long size, byte[] head)
        {
            using var client = await _listener.AcceptTcpClientAsync();
            client.SendBufferSize = 64 * 1024;
            await using var stream = client.GetStream();
            var request = new byte[8192];
            var received = new StringBuilder();
            while (!received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var n = await stream.ReadAsync(request);
                if (n == 0)
                {
                    return 0;
                }

                received.Append(Encoding.ASCII.GetString(request, 0, n));
            }

            var chunked = framing.Contains("chunked", StringComparison.Ordinal);
            var headers = "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n" + framing switch
            {
                "honest Content-Length" => $"Content-Length: {size.ToString(CultureInfo.InvariantCulture)}\r\n",
                "lying Content-Length (100, then chunked)" => "Content-Length: 100\r\nTransfer-Encoding: chunked\r\n",
                _ when chunked => "Transfer-Encoding: chunked\r\n",
                _ => "Connection: close\r\n",
            } + "\r\n";
            long sent = 0;
            try
            {
                await stream.WriteAsync(Encoding.ASCII.GetBytes(headers));
                var block = new byte[64 * 1024];
                head.CopyTo(block, 0);
                while (sent < size)
                {
                    var n = (int)Math.Min(block.Length, size - sent);
                    if (chunked)
                    {
                        await stream.WriteAsync(Encoding.ASCII.GetBytes(n.ToString("x", CultureInfo.InvariantCulture) + "\r\n"));
                    }

                    await stream.WriteAsync(block.AsMemory(0, n));
                    if (chunked)
                    {
                        await stream.WriteAsync("\r\n"u8.ToArray());
                    }

                    sent += n;
                    if (sent == n)
                    {
                        Array.Clear(block, 0, head.Length);   // the image signature only at the start
                    }
                }

                if (chunked)
                {
                    await stream.WriteAsync("0\r\n\r\n"u8.ToArray());
                }
            }
            catch (IOException)
            {
                // The client stopped reading and closed the connection.
            }

            return sent;
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            try
            {
                await _serving.WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception)
            {
                // Already reported by the test, or never connected.
            }

            _listener.Dispose();
        }
    }
}
