using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Npgsql;
using Xunit;

namespace TrustLaunch.Testing;

/// <summary>
/// A private PostgreSQL server for one test class (Debian's <c>postgresql</c> package): <c>initdb</c> into a scratch
/// directory and <c>postgres -h 127.0.0.1 -p PORT -k DIR</c>, both as the unprivileged <c>postgres</c> user when the
/// tests run as root (PostgreSQL refuses root). Password authentication (SCRAM) on loopback TCP; an admin role and a
/// non-superuser <see cref="ServiceRole"/> that owns each database <see cref="CreateDatabaseAsync"/> makes, as a
/// deployment would have. Stopped (fast shutdown) and deleted afterwards. <c>fsync=off</c> for speed: a killed
/// server keeps what it committed (the OS has it); only a machine crash could lose it. On another host
/// (<see cref="CommandPrefix"/>) it listens on <see cref="ListenAddress"/> and takes password logins from
/// <see cref="ClientNetwork"/>.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public const string ServiceRole = "trustlaunch";
    private const string AdminRole = "admin";
    private const string SystemUser = "postgres";

    private readonly string _adminPassword = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private Process? _process;

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("trustlaunch-postgres-").FullName;
    public string DataDirectory => Path.Combine(Directory, "data");
    public string LogFile => Path.Combine(Directory, "postgres.log");
    public int Port { get; private set; }
    public string ServicePassword { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>What the server runs under, e.g. <see cref="NetworkHost.CommandPrefix"/>; none by default.</summary>
    public IReadOnlyList<string> CommandPrefix { get; init; } = [];

    /// <summary>The address the server listens on and clients connect to (127.0.0.1 unless on another host).</summary>
    public string ListenAddress { get; init; } = "127.0.0.1";

    /// <summary>A CIDR network whose clients may log in with a password too (initdb allows loopback only); null: none.</summary>
    public string? ClientNetwork { get; init; }

    /// <summary>The newest PostgreSQL server installed (/usr/lib/postgresql/N/bin).</summary>
    public static string BinDirectory { get; } = System.IO.Directory.Exists("/usr/lib/postgresql")
        ? System.IO.Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0)
            .Select(d => Path.Combine(d, "bin")).FirstOrDefault(d => File.Exists(Path.Combine(d, "postgres"))) ?? ""
        : "";

    public async Task InitializeAsync()
    {
        if (BinDirectory.Length == 0)
            throw new InvalidOperationException("no PostgreSQL server under /usr/lib/postgresql: run scripts/install-deps (package postgresql)");
        if (Environment.IsPrivilegedProcess)
            (await ProcessRunner.RunAsync("chown", [$"{SystemUser}:", Directory])).EnsureSuccess("chown");
        var passwordFile = Path.Combine(Directory, "admin-password");
        await File.WriteAllTextAsync(passwordFile, _adminPassword);
        if (Environment.IsPrivilegedProcess)
            (await ProcessRunner.RunAsync("chown", [$"{SystemUser}:", passwordFile])).EnsureSuccess("chown");
        (await RunAsPostgresAsync("initdb", "-D", DataDirectory, "-U", AdminRole, "--pwfile", passwordFile, "--auth=scram-sha-256",
            "--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C.UTF-8")).EnsureSuccess("initdb");
        File.Delete(passwordFile);
        if (ClientNetwork is not null)
            await File.AppendAllTextAsync(Path.Combine(DataDirectory, "pg_hba.conf"), $"host all all {ClientNetwork} scram-sha-256\n");
        for (var attempt = 0; ; attempt++)
        {
            Port = FreePorts.FindPair();
            if (await TryStartAsync() || attempt == 5)
                break;
        }
        if (_process is null)
            throw new InvalidOperationException($"postgres did not start; see {LogFile}");
        await AdminAsync($"CREATE ROLE {ServiceRole} LOGIN PASSWORD '{ServicePassword}'");
    }

    /// <summary>A new empty database owned by <see cref="ServiceRole"/>; returns its name.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "test_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        await AdminAsync($"CREATE DATABASE {name} OWNER {ServiceRole}");
        return name;
    }

    /// <summary><c>postgres://trustlaunch:PASSWORD@ADDRESS:PORT/DATABASE</c>.</summary>
    public string Url(string database, bool withPassword = true) => string.Create(CultureInfo.InvariantCulture,
        $"postgres://{ServiceRole}{(withPassword ? ":" + ServicePassword : "")}@{ListenAddress}:{Port}/{database}");

    /// <summary>Runs SQL as the admin role, in <paramref name="database"/> (default: the maintenance database).</summary>
    public async Task<object?> AdminAsync(string sql, string database = "postgres")
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString(database));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    /// <summary>An open connection as the admin role to <paramref name="database"/>, for a test's own transactions.</summary>
    public async Task<NpgsqlConnection> OpenAdminConnectionAsync(string database)
    {
        var connection = new NpgsqlConnection(AdminConnectionString(database));
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>SIGKILL to the postmaster, as a crash would; the data directory stays.</summary>
    public async Task KillAsync()
    {
        await LoopbackServer.KillAsync(_process);
        _process = null;
    }

    /// <summary>Starts the server again on the same data directory and port (after <see cref="KillAsync"/>: crash recovery).</summary>
    public async Task StartAsync()
    {
        // Backends of a killed postmaster exit on their own shortly; until then the new one finds their shared memory.
        for (var attempt = 0; attempt < 50 && !await TryStartAsync(); attempt++)
            await Task.Delay(100);
        if (_process is null)
            throw new InvalidOperationException($"postgres did not restart on port {Port}; see {LogFile}");
    }

    private async Task<bool> TryStartAsync()
    {
        string[] command = [.. CommandPrefix, .. AsPostgres("postgres")];
        var info = new ProcessStartInfo(command[0])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in command.Skip(1).Concat(["-D", DataDirectory, "-h", ListenAddress, "-p", Port.ToString(CultureInfo.InvariantCulture),
            "-k", Directory, "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "shared_buffers=16MB", "-c", "max_connections=100"]))
            info.ArgumentList.Add(a);
        var log = new StreamWriter(LogFile, append: true) { AutoFlush = true };
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start postgres");
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.Exited += (_, _) => log.Dispose();
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            try
            {
                await AdminAsync("SELECT 1");
                _process = process;
                return true;
            }
            catch (NpgsqlException)
            {
                // Not listening yet, or still starting up / recovering.
                await Task.Delay(50);
            }
        }
        if (!process.HasExited)
            process.Kill();
        await process.WaitForExitAsync();
        process.Dispose();
        return false;
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
            return;
        lock (log)
        {
            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // The process exited while its last lines were in flight.
            }
        }
    }

    private string AdminConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = ListenAddress,
        Port = Port,
        Database = database,
        Username = AdminRole,
        Password = _adminPassword,
        Pooling = false,
        Timeout = 5,
    }.ConnectionString;

    /// <summary>The command running <paramref name="tool"/> as the postgres user when the tests run as root, else the tool itself.</summary>
    private static string[] AsPostgres(string tool) => Environment.IsPrivilegedProcess
        ? ["setpriv", "--reuid", SystemUser, "--regid", SystemUser, "--init-groups", "--", Path.Combine(BinDirectory, tool)]
        : [Path.Combine(BinDirectory, tool)];

    private Task<ProcessResult> RunAsPostgresAsync(string tool, params string[] arguments)
    {
        var command = AsPostgres(tool);
        return ProcessRunner.RunAsync(command[0], command.Skip(1).Concat(arguments), workingDirectory: Directory);
    }

    public async Task DisposeAsync()
    {
        if (_process is not null)
        {
            // SIGINT: fast shutdown (disconnects clients, no wait for them).
            (await ProcessRunner.RunAsync("kill", ["-INT", _process.Id.ToString(CultureInfo.InvariantCulture)])).EnsureSuccess("kill -INT");
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }
            _process.Dispose();
            _process = null;
        }
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
