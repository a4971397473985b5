using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Npgsql;
using Stefna.TestUtils;

namespace Stefna.Sdk.Postgres.Tests;

public sealed class ResilienceTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task An_insert_through_another_store_wakes_a_waiting_worker_at_once()
    {
        var type = TestTypes.Unique("n");
        await using var listener = new PostgresMediaStore(database.CreateDataSource());
        await using var writer = new PostgresMediaStore(database.CreateDataSource());
        await listener.InitializeAsync([type], CancellationToken.None);
        await writer.InitializeAsync([type], CancellationToken.None);

        // Listening, with the connect's own wake-up taken, so only the insert's notification can end the wait below.
        await Listening.ConnectedAndQuietAsync(listener.Listener, type.Name);
        var connections = listener.Listener.Connections;
        var wait = listener.WaitForWorkAsync([type.Name], TimeSpan.FromSeconds(60), CancellationToken.None);
        await writer.InsertAsync(TestTypes.Job(type), CancellationToken.None);
        var finished = await Task.WhenAny(wait, Task.Delay(TimeSpan.FromSeconds(30)));

        Assert.Same(wait, finished);
        Assert.True(await wait, "the wait ran to its timeout");
        Assert.Equal(connections, listener.Listener.Connections); // a notification, not a reconnect, woke it
        Assert.Equal(1, listener.Listener.Notifications);
    }

    [Fact]
    public async Task A_notification_that_arrives_while_nobody_waits_ends_the_next_wait_at_once()
    {
        var channel = "stefna_sticky_" + Guid.NewGuid().ToString("N")[..10];
        const string Type = "sticky-type";
        await using var dataSource = database.CreateDataSource();
        await using var listener = new NotificationListener(dataSource, channel, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        // Start listening, then take the wake-up of the first connect, so no wake-up is pending.
        await Listening.ConnectedAndQuietAsync(listener, Type);

        // The notification arrives between two waits (as while a worker claims): nobody waits for it.
        await TestTypes.ScalarAsync<string>(database.ConnectionString, "SELECT pg_notify(@channel, @type)::text", ("channel", channel), ("type", Type));
        await Eventually.HoldsAsync(() => listener.Notifications >= 1, "the notification never reached the listener", TimeSpan.FromSeconds(30));
        var connections = listener.Connections;

        // The next wait ends on it, not at its timeout (the polling fallback): WaitAsync answers true only when woken,
        // false when it ran to the timeout, so no stopwatch margin is needed to tell the two apart.
        var woken = await listener.WaitAsync([Type], TimeSpan.FromSeconds(20), CancellationToken.None);

        Assert.True(woken, "the pending notification was lost; the wait ran to its timeout");
        Assert.Equal(connections, listener.Connections); // a notification, not a reconnect, woke it
        Assert.Equal(1, listener.Notifications);

        // Consumed: the wait after it runs to its timeout again.
        Assert.False(await listener.WaitAsync([Type], TimeSpan.FromMilliseconds(300), CancellationToken.None));
    }

    [Fact]
    public void Only_connection_failures_count_as_a_lost_connection_not_a_command_timeout()
    {
        // Npgsql's IsTransient is true for a command timeout; the store must not read that as a broken connection.
        var timeout = new NpgsqlException("Exception while reading from stream", new TimeoutException("Timeout during reading attempt"));
        Assert.True(timeout.IsTransient);
        Assert.False(PostgresMediaStore.IsConnectionLoss(timeout));
        Assert.False(PostgresMediaStore.IsConnectionLoss(new NpgsqlException("outer", timeout)));
        Assert.False(PostgresMediaStore.IsConnectionLoss(new PostgresException("canceling statement due to statement timeout", "ERROR", "ERROR", "57014")));
        Assert.False(PostgresMediaStore.IsConnectionLoss(new PostgresException("could not serialize access", "ERROR", "ERROR", "40001")));
        Assert.False(PostgresMediaStore.IsConnectionLoss(new NpgsqlException("something else")));

        foreach (var state in new[] { "57P01", "57P02", "57P03", "08006", "08003" })
        {
            Assert.True(PostgresMediaStore.IsConnectionLoss(new PostgresException("connection gone", "FATAL", "FATAL", state)), state);
        }

        Assert.True(PostgresMediaStore.IsConnectionLoss(new NpgsqlException("Exception while reading from stream", new EndOfStreamException())));
        Assert.True(PostgresMediaStore.IsConnectionLoss(new NpgsqlException("Exception while writing to stream", new IOException("broken pipe"))));
        Assert.True(PostgresMediaStore.IsConnectionLoss(new NpgsqlException("Failed to connect", new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused))));
        Assert.True(PostgresMediaStore.IsConnectionLoss(new NpgsqlException("outer", new NpgsqlException("inner", new IOException("reset")))));
    }

    [Fact]
    public async Task A_command_timeout_does_not_clear_the_connection_pool()
    {
        var type = TestTypes.Unique("cto");
        var logs = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var impatient = new NpgsqlConnectionStringBuilder(database.ConnectionString) { CommandTimeout = 1 }.ConnectionString;
        await using var dataSource = NpgsqlDataSource.Create(impatient);
        await using var store = new PostgresMediaStore(dataSource, logger: loggers.CreateLogger<PostgresMediaStore>());
        await store.InitializeAsync([type], CancellationToken.None);
        var job = TestTypes.Job(type);
        await store.InsertAsync(job, CancellationToken.None);

        // Another session holds the row locked, so the store's cancel waits on it past its one-second command timeout.
        await using (var locker = new NpgsqlConnection(database.ConnectionString))
        {
            await locker.OpenAsync();
            await using var transaction = await locker.BeginTransactionAsync();
            await using (var lockRow = new NpgsqlCommand($"SELECT id FROM {type.TableName} WHERE id = @id FOR UPDATE", locker, transaction))
            {
                lockRow.Parameters.AddWithValue("id", job.Id);
                await lockRow.ExecuteScalarAsync();
            }

            var ex = await Assert.ThrowsAnyAsync<NpgsqlException>(() => store.CancelAsync(type.Name, job.Id, job.UserId, CancellationToken.None));
            Assert.IsType<TimeoutException>(ex.InnerException);
            await transaction.RollbackAsync();
        }

        lock (logs.Lines)
        {
            Assert.DoesNotContain(logs.Lines, line => line.Contains("cleared the connection pool", StringComparison.Ordinal));
        }

        Assert.Equal(GenerationStatus.Canceled, (await store.CancelAsync(type.Name, job.Id, job.UserId, CancellationToken.None))?.Status);
    }

    [Fact]
    public async Task A_wait_with_no_notification_ends_at_its_timeout()
    {
        var type = TestTypes.Unique("idle");
        await using var store = new PostgresMediaStore(database.CreateDataSource());
        await store.InitializeAsync([type], CancellationToken.None);

        // Listening, with the connect's own wake-up taken: a connect slower than any fixed first wait (a loaded machine)
        // would otherwise end the timed wait below early.
        await Listening.ConnectedAndQuietAsync(store.Listener, type.Name);
        var watch = Stopwatch.StartNew();
        Assert.False(await store.WaitForWorkAsync([type.Name], TimeSpan.FromMilliseconds(700), CancellationToken.None), "woken with nothing sent");
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(600), $"returned after {watch.Elapsed}");
    }

    [Fact]
    public async Task After_the_pool_connections_are_terminated_the_store_recovers_and_the_listener_reconnects()
    {
        var type = TestTypes.Unique("term");
        var tagged = new NpgsqlConnectionStringBuilder(database.ConnectionString) { ApplicationName = "stefna-terminated" }.ConnectionString;
        await using var store = new PostgresMediaStore(NpgsqlDataSource.Create(tagged));
        await using var writer = new PostgresMediaStore(database.CreateDataSource());
        await store.InitializeAsync([type], CancellationToken.None);
        await writer.InitializeAsync([type], CancellationToken.None);
        var job = TestTypes.Job(type);
        await store.InsertAsync(job, CancellationToken.None);

        // Fill the pool with several idle connections (held at once, then returned) and start the listener; wait until
        // the listener (which takes one of them) is listening, so the terminate below hits both kinds (a loaded machine is slow).
        var held = new List<NpgsqlConnection>();
        for (var i = 0; i < 4; i++)
        {
            held.Add(await store.DataSource.OpenConnectionAsync());
        }

        foreach (var connection in held)
        {
            await connection.DisposeAsync();
        }

        await store.WaitForWorkAsync([type.Name], TimeSpan.FromSeconds(1), CancellationToken.None);
        const string Tagged = "FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'stefna-terminated'";
        var ready = Stopwatch.StartNew();
        while (await TestTypes.ScalarAsync<long>(database.ConnectionString, "SELECT count(*) " + Tagged + " AND query ILIKE 'LISTEN%'") < 1 && ready.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100);
        }

        var killed = await TestTypes.ScalarAsync<long>(database.ConnectionString, "SELECT count(pg_terminate_backend(pid)) " + Tagged);
        Assert.True(killed >= 4, $"{killed} connections terminated; expected the pool's 4 (one of them the listener's)");

        var failures = 0;
        GenerationJob? read = null;
        for (var i = 0; i < 20 && read is null; i++)
        {
            try
            {
                read = await store.GetAsync(type.Name, job.Id, job.UserId, CancellationToken.None);
            }
            catch (NpgsqlException)
            {
                failures++;
            }
        }

        Assert.NotNull(read);
        Assert.True(failures <= 2, $"{failures} calls failed after the terminate; broken pooled connections leaked into later calls");
        for (var i = 0; i < 5; i++)
        {
            Assert.NotNull(await store.GetAsync(type.Name, job.Id, job.UserId, CancellationToken.None));
        }

        // The listener reconnects. Every (re)connect wakes the waiters, so first see the reconnect and take its wake-up;
        // only then can a wake-up prove that a notification was delivered on the new connection.
        var listener = store.Listener;
        await Listening.ConnectedAndQuietAsync(listener, type.Name, connections: 2);

        var connections = listener.Connections;
        var notifications = listener.Notifications;

        // A new insert elsewhere wakes a waiter far sooner than its 60 s timeout (the polling fallback).
        var watch = Stopwatch.StartNew();
        var wait = listener.WaitAsync([type.Name], TimeSpan.FromSeconds(60), CancellationToken.None);
        await writer.InsertAsync(TestTypes.Job(type), CancellationToken.None);
        var finished = await Task.WhenAny(wait, Task.Delay(TimeSpan.FromSeconds(10)));

        Assert.True(finished == wait, $"no notification reached the store after its listening connection was terminated ({watch.Elapsed})");
        Assert.True(await wait);
        Assert.Equal(connections, listener.Connections); // not woken by yet another reconnect
        Assert.True(listener.Notifications > notifications, "woken without a notification");
    }
}
