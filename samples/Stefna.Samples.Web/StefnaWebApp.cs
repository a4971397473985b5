using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Assets;
using Stefna.Sdk.Diagnostics;
using Stefna.Sdk.Generators;

namespace Stefna.Samples.Web;

/// <summary>
/// Composes the web host: the SDK on its embedded default (SQLite + local files + offline provider, all five types),
/// the development API-key scheme, ProblemDetails, OpenAPI, health checks, the API and the page.
/// </summary>
internal static class StefnaWebApp
{
    /// <summary>The page's content security policy: its own scripts, styles and API only; images also from https (Cloudinary)
    /// and blob: (the preview of a chosen photo); never framed.</summary>
    internal const string ContentSecurityPolicy =
        "default-src 'self'; img-src 'self' blob: data: https:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>Builds the app from command-line arguments (<c>--urls</c>, <c>--Stefna:DataDirectory=…</c>, …).</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="configure">Adjusts the builder after the SDK is composed and before health checks are added, so a
    /// type or provider added here gets its health check too (tests use it).</param>
    /// <returns>The app, not started.</returns>
    public static WebApplication Create(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        var config = builder.Configuration;
        var section = config.GetSection(WebOptions.Section);
        builder.Services.Configure<WebOptions>(section);
        var web = section.Get<WebOptions>() ?? new WebOptions();
        var data = Path.GetFullPath(web.DataDirectory, builder.Environment.ContentRootPath);
        var images = Path.Combine(data, "images");

        // The SDK, every option bound from the same "Stefna" section (appsettings.json shows the whole shape): the core
        // at its root, each type under Types:<type>, each package under its own key. Values given here only fill in
        // what configuration leaves empty (paths inside the data folder).
        var stefna = builder.Services.AddStefna(section)
            .AddNeoGlitch()
            .AddEmotionMask()
            .AddPresets()
            .AddGhibliReaction()
            .AddCustomPrompt();
        if (string.Equals(web.Store, "Postgres", StringComparison.OrdinalIgnoreCase))
        {
            // Stefna:Postgres:ConnectionString, or an NpgsqlDataSource registered in the container (AddNpgsqlDataSource, Aspire).
            stefna.UsePostgres();
        }
        else
        {
            stefna.UseSqlite(o => o.DatabasePath = string.IsNullOrWhiteSpace(o.DatabasePath) ? Path.Combine(data, "stefna.db") : o.DatabasePath);
        }

        if (string.Equals(web.Storage, "Cloudinary", StringComparison.OrdinalIgnoreCase))
        {
            stefna.UseCloudinary(); // Stefna:Cloudinary, else CLOUDINARY_URL
        }
        else
        {
            stefna.UseLocalFileStorage(o =>
            {
                o.RootPath = string.IsNullOrWhiteSpace(o.RootPath) ? images : o.RootPath;
                o.PublicBaseUrl ??= "/media/";
            });
        }

        if (string.Equals(web.Provider, "AimlApi", StringComparison.OrdinalIgnoreCase))
        {
            stefna.UseAimlApi(); // Stefna:AimlApi; the key from Stefna:AimlApi:ApiKey (user secrets, environment) or AIMLAPI_KEY
        }
        else if (string.Equals(web.Provider, "OpenAI", StringComparison.OrdinalIgnoreCase))
        {
            stefna.UseOpenAI(); // Stefna:OpenAI; the key from Stefna:OpenAI:ApiKey (user secrets, environment) or OPENAI_API_KEY
        }
        else
        {
            stefna.UseOfflineProvider();
        }

        configure?.Invoke(builder);

        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<GenerationExceptionHandler>();
        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<ApiKeyAuthenticationOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorization();
        builder.Services.AddOpenApi(options => options.AddOperationTransformer<GenerationOpenApi>().AddDocumentTransformer<ApiKeyOpenApi>());
        builder.Services.AddSingleton<TypeCatalog>();
        // Signed /media/ URLs: Data Protection keys kept in the data folder, so URLs survive a restart.
        builder.Services.AddDataProtection()
            .SetApplicationName("Stefna.Samples.Web")
            .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(data, "keys")));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<MediaAccess>();

        // The SDK's health checks: one entry per type (store, circuit, oldest queued job, worker loop), types added by
        // `configure` included.
        builder.Services.AddHealthChecks().AddStefnaHealthChecks();

        var app = builder.Build();

        // Security headers on every answer (page, API, media, errors): set when the response starts, so the exception
        // handler's reset cannot drop them. Images may come from Cloudinary (https:) or a chosen file (blob:).
        app.Use((context, next) =>
        {
            context.Response.OnStarting(static state =>
            {
                var headers = ((HttpContext)state).Response.Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "no-referrer";
                return Task.CompletedTask;
            }, context);
            return next(context);
        });
        app.UseExceptionHandler();
        app.UseStatusCodePages();

        // The page (embedded, so it is served whatever the content root) and the generated images (that folder only).
        var page = new EmbeddedFileProvider(typeof(StefnaWebApp).Assembly, "wwwroot");
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = page });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = page });
        if (!string.Equals(web.Storage, "Cloudinary", StringComparison.OrdinalIgnoreCase))
        {
            var media = Path.GetFullPath(app.Services.GetRequiredService<IOptions<LocalFileAssetStorageOptions>>().Value.RootPath);
            Directory.CreateDirectory(media);

            // Owner-scoped: a signed URL for the user (what the API answers) or the owner's API key; else 404/403.
            var access = app.Services.GetRequiredService<MediaAccess>();
            app.Use(async (context, next) =>
            {
                if (context.Request.Path.StartsWithSegments("/media", out var rest))
                {
                    var status = await access.AuthorizeAsync(context, rest.Value?.TrimStart('/') ?? string.Empty);
                    if (status != StatusCodes.Status200OK)
                    {
                        context.Response.StatusCode = status;
                        return;
                    }

                    // Each user's URL differs, so shared caches must not keep it for another.
                    context.Response.Headers.CacheControl = "private, max-age=300";
                }

                await next(context);
            });
            app.UseStaticFiles(new StaticFileOptions
            {
                FileProvider = new PhysicalFileProvider(media),
                RequestPath = "/media",
                ServeUnknownFileTypes = false,
                OnPrepareResponse = ctx => ctx.Context.Response.Headers.XContentTypeOptions = "nosniff",
            });
        }

        app.UseAuthentication();
        app.UseAuthorization();

        app.MapOpenApi();
        app.MapHealthChecks("/health", new HealthCheckOptions
        {
            Predicate = r => r.Tags.Contains(StefnaHealthCheckOptions.Tag),
            ResponseWriter = HealthReportWriter.WriteAsync,
        });
        app.MapStefnaApi();
        if (app.Environment.IsDevelopment())
        {
            // Development only: lets the page pick a key without copying it from appsettings.json.
            app.MapGet("/dev/api-keys", (Microsoft.Extensions.Options.IOptionsMonitor<WebOptions> o) =>
                    o.CurrentValue.ApiKeys.Select(k => new { key = k.Key, userId = k.Value }))
                .ExcludeFromDescription();
        }

        return app;
    }
}
