// The jail's pieces: isolation levels, uid ranges and pools, paths inside a jail, and a real
// relaxed jail entered by a forked child (identity, capabilities, no_new_privs, seccomp).
#include "sandbox/jail.h"

#include <gtest/gtest.h>
#include <seccomp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "sandbox/isolation.h"
#include "sandbox/uid_pool.h"

namespace mlfaas::sandbox {
namespace {

TEST(IsolationTest, LevelsParseByName) {
  for (Isolation l : {Isolation::kOff, Isolation::kRelaxed, Isolation::kStrict}) {
    EXPECT_EQ(ParseIsolation(IsolationName(l)), l);
  }
  EXPECT_FALSE(ParseIsolation("STRICT"));
  EXPECT_FALSE(ParseIsolation(""));
  EXPECT_LT(Isolation::kRelaxed, Isolation::kStrict);
}

TEST(IsolationTest, UidRangeIsFirstDashLast) {
  auto r = ParseUidRange("100000-165535");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first, 100000u);
  EXPECT_EQ(r->last, 165535u);
  EXPECT_EQ(r->size(), 65536u);
  for (const char* bad :
       {"", "5", "0-10", "10-5", "a-b", "1-4294967295", "-1-5", "1-2-3", " 1-2"}) {
    auto b = ParseUidRange(bad);
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.status().message().find("--uid-range"), std::string::npos);
  }
}

TEST(IsolationTest, StrongestLevelFollowsWhatIsMissing) {
  IsolationProbe p;
  p.root = p.seccomp = p.namespaces = p.cgroups = true;
  EXPECT_EQ(p.strongest(), Isolation::kStrict);
  p.namespaces = false;
  EXPECT_EQ(p.strongest(), Isolation::kRelaxed);
  p.namespaces = true;
  p.cgroups = false;
  EXPECT_EQ(p.strongest(), Isolation::kRelaxed);
  p.root = false;
  EXPECT_EQ(p.strongest(), Isolation::kOff);
}

TEST(UidPoolTest, EveryLiveEnvironmentHasItsOwnUidAndReuseIsLate) {
  UidPool pool({1000, 1002});
  std::set<uid_t> taken;
  for (int i = 0; i < 3; ++i) {
    auto u = pool.Take();
    ASSERT_TRUE(u);
    EXPECT_TRUE(taken.insert(*u).second) << *u << " handed out twice";
  }
  EXPECT_FALSE(pool.Take()) << "the range is used up";
  EXPECT_EQ(pool.InUse(), 3u);
  pool.Give(1001);
  pool.Give(1000);
  pool.Give(4242);  // not ours: ignored
  EXPECT_EQ(pool.Take(), std::optional<uid_t>(1001)) << "the oldest released comes back first";
  EXPECT_EQ(pool.Take(), std::optional<uid_t>(1000));
  EXPECT_FALSE(pool.Take());
}

TEST(JailTest, PathsInsideAStrictJailAreUnderVarTask) {
  EXPECT_EQ(PathInJail(Isolation::kStrict, "/h/code/ab", "/h/code/ab/bootstrap"),
            "/var/task/bootstrap");
  EXPECT_EQ(PathInJail(Isolation::kStrict, "/h/code/ab", "/h/code/ab"), "/var/task");
  EXPECT_EQ(PathInJail(Isolation::kStrict, "/h/code/ab", "/h/code/abc/x"), "/h/code/abc/x");
  EXPECT_EQ(PathInJail(Isolation::kRelaxed, "/h/code/ab", "/h/code/ab/bootstrap"),
            "/h/code/ab/bootstrap");
}

TEST(JailTest, EveryDeniedSyscallExistsHere) {
  for (const auto& name : DeniedSyscalls()) {
    EXPECT_NE(seccomp_syscall_resolve_name(name.c_str()), __NR_SCMP_ERROR) << name;
  }
}

// Enters a relaxed jail in a forked child and reports, as its exit code, the first check that
// failed (0: all held).
int InRelaxedJail() {
  if (!PrepareJail(Isolation::kRelaxed).ok()) return 10;
  if (!EnterJail({Isolation::kRelaxed, "/", 100123, 100124, 0}).ok()) return 11;
  if (getuid() != 100123 || geteuid() != 100123 || getgid() != 100124) return 12;
  if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) return 13;
  if (prctl(PR_CAPBSET_READ, 21 /* CAP_SYS_ADMIN */, 0, 0, 0) != 0) return 14;
  if (mount("none", "/tmp", "tmpfs", 0, nullptr) == 0 || errno != EPERM) return 15;
  if (setuid(0) == 0) return 16;
  if (unshare(CLONE_NEWUSER) == 0 || errno != EPERM) return 17;  // seccomp, not a capability
  return 0;
}

TEST(JailTest, RelaxedJailDropsIdentityCapabilitiesAndFiltersSyscalls) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  const pid_t pid = fork();
  if (pid == 0) _exit(InRelaxedJail());
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << "check " << WEXITSTATUS(status) << " failed";
}

TEST(JailTest, RefusesToRunFunctionsAsRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  const pid_t pid = fork();
  if (pid == 0) {
    Status st = EnterJail({Isolation::kRelaxed, "/", 0, 0, 0});
    _exit(!st.ok() && st.message().find("root") != std::string::npos ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
}  // namespace mlfaas::sandbox
