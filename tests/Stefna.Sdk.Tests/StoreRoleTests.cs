using System.Reflection;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Tests;

/// <summary>The store's roles: a store implements <see cref="IMediaStore"/> (records, queue, schema) and may add optional
/// roles; no role member has a default body that could stand in for a store's own, contract-keeping implementation (a
/// decorator that forgot a member would otherwise compile and silently lose the inner store's behaviour).</summary>
public sealed class StoreRoleTests
{
    public static TheoryData<Type> Roles => [typeof(IJobRecordStore), typeof(IJobQueue), typeof(IMediaStoreSchema), typeof(IJobParking)];

    [Theory]
    [MemberData(nameof(Roles))]
    public void No_role_member_has_a_default_implementation(Type role)
    {
        var defaulted = role.GetMethods(BindingFlags.Public | BindingFlags.Instance).Where(m => !m.IsAbstract).Select(m => m.Name).ToList();
        Assert.True(defaulted.Count == 0, $"{role.Name} has members with a default body: {string.Join(", ", defaulted)}");
    }

    [Fact]
    public void A_media_store_is_exactly_the_records_queue_and_schema_roles()
    {
        Assert.Empty(typeof(IMediaStore).GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly));
        Assert.Equal(
            new[] { nameof(IJobQueue), nameof(IJobRecordStore), nameof(IMediaStoreSchema) },
            typeof(IMediaStore).GetInterfaces().Select(i => i.Name).Order(StringComparer.Ordinal));
    }
}
