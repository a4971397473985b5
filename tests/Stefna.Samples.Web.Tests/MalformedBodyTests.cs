using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Stefna.Samples.Web.Tests;

/// <summary>
/// Issue 16: malformed request bodies answered 500 with a stack trace in the log (no closing boundary, a boundary over
/// 70 characters) or 413 (other malformed bodies). Each is a 400 problem with a code, logs no error, and writes nothing.
/// </summary>
public sealed class MalformedBodyTests : IAsyncLifetime
{
    private readonly ErrorLog _errors = new();
    private readonly WebAppFixture _app;

    public MalformedBodyTests()
    {
        _app = new WebAppFixture { Configure = b => b.Logging.AddProvider(_errors) };
    }

    public Task InitializeAsync() => _app.InitializeAsync();

    public Task DisposeAsync() => _app.DisposeAsync();

    private const string Boundary = "stefna-test-boundary";

    private static string Part(string name, string value) =>
        $"--{Boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n";

    public static TheoryData<string, string, string, string> Bodies => new()
    {
        // name, content type, body, expected code
        { "no closing boundary", $"multipart/form-data; boundary={Boundary}", Part("prompt", "a cat") + $"--{Boundary}\r\nContent-Disposition: form-data; name=\"tags\"\r\n\r\ncats", "invalid_request.malformed_body" },
        { "closing boundary missing after the last part", $"multipart/form-data; boundary={Boundary}", Part("prompt", "a cat"), "invalid_request.malformed_body" },
        { "boundary of 71 characters", $"multipart/form-data; boundary={new string('b', 71)}", $"--{new string('b', 71)}\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\na cat\r\n--{new string('b', 71)}--\r\n", "invalid_request.malformed_body" },
        { "boundary of 5,000 characters", $"multipart/form-data; boundary={new string('b', 5000)}", "--x--", "invalid_request.malformed_body" },
        { "multipart without a boundary", "multipart/form-data", Part("prompt", "a cat") + $"--{Boundary}--\r\n", "invalid_request.malformed_body" },
        { "empty boundary", "multipart/form-data; boundary=\"\"", "----\r\n", "invalid_request.malformed_body" },
        { "a part without Content-Disposition", $"multipart/form-data; boundary={Boundary}", $"--{Boundary}\r\nX-Other: 1\r\n\r\nhello\r\n--{Boundary}--\r\n", "invalid_request.malformed_body" },
        { "a header line that never ends", $"multipart/form-data; boundary={Boundary}", $"--{Boundary}\r\nContent-Disposition: form-data; name=\"prompt\"" + new string('x', 20_000), "invalid_request.malformed_body" },
        { "garbage instead of a first boundary", $"multipart/form-data; boundary={Boundary}", "this is not multipart at all", "invalid_request.malformed_body" },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task A_malformed_body_is_a_400_with_a_code_and_no_logged_error(string name, string contentType, string body, string code)
    {
        using var client = _app.Client();
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        using var response = await client.PostAsync("api/generations/custom-prompt", content);

        var problem = await ApiHelpers.ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.Str("code") == code, $"{name}: {problem}");
        Assert.DoesNotContain(" at ", problem.Str("detail") ?? string.Empty, StringComparison.Ordinal);
        Assert.Empty(_errors.Entries);
    }

    private sealed class ErrorLog : ILoggerProvider, ILogger
    {
        public ConcurrentQueue<string> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error)
            {
                Entries.Enqueue($"{logLevel}: {formatter(state, exception)} {exception}");
            }
        }

        public void Dispose()
        {
        }
    }
}
