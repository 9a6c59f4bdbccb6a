// The dock's command line: the remote (without the reference's
// connect-to-myself bug), and the flags `hms dock` will share.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include "dock/options.hpp"

namespace hms::dock {
namespace {

TEST(OptionsTest, Remotes) {
  HubAddress a;
  std::string e;
  ASSERT_TRUE(parse_remote("10.0.0.5:9000", &a, &e));
  EXPECT_EQ(a.host, "10.0.0.5");
  EXPECT_EQ(a.port, 9000);
  // No port: the hub's default, never the dock's own --port.
  ASSERT_TRUE(parse_remote("hub.example", &a, &e));
  EXPECT_EQ(a.port, 10002);
  ASSERT_TRUE(parse_remote("host:22+9000", &a, &e));
  EXPECT_EQ(a.port, 9000);
  ASSERT_TRUE(parse_remote("[::1]:7000", &a, &e));
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.text(), "[::1]:7000");
  EXPECT_FALSE(parse_remote("", &a, &e));
  EXPECT_EQ(e, "Remote is required");
  EXPECT_FALSE(parse_remote("me@host", &a, &e));
  EXPECT_NE(e.find("ssh remotes"), std::string::npos);
  EXPECT_FALSE(parse_remote("http://x:1", &a, &e));
  EXPECT_FALSE(parse_remote("host:0", &a, &e));
  EXPECT_FALSE(parse_remote("host:70000", &a, &e));
  EXPECT_FALSE(parse_remote("host:x", &a, &e));
  EXPECT_FALSE(parse_remote("::1:80", &a, &e));
  EXPECT_FALSE(parse_remote(":80", &a, &e));
}

TEST(OptionsTest, Flags) {
  DockOptions o;
  CLI::App app;
  add_dock_flags(app, o);
  std::vector<std::string> args = {"hub:1234", "-i", "dock-a", "-t", "web", "--tag", "eu", "--default", "-p", "0",
                                   "--db", "x.db", "--grace", "2.5", "--output-queue-mb", "16"};
  std::reverse(args.begin(), args.end());
  app.parse(args);
  EXPECT_EQ(o.remote, "hub:1234");
  EXPECT_EQ(o.id, "dock-a");
  EXPECT_EQ(o.tags, (std::vector<std::string>{"web", "eu"}));
  EXPECT_TRUE(o.is_default);
  EXPECT_EQ(o.port, 0);
  EXPECT_EQ(o.db, "x.db");
  EXPECT_EQ(o.stop_grace, std::chrono::milliseconds(2500));
  EXPECT_EQ(o.output_queue_bytes, std::size_t{16} << 20);

  DockOptions d;
  CLI::App app2;
  add_dock_flags(app2, d);
  std::vector<std::string> none;
  EXPECT_THROW(app2.parse(none), CLI::RequiredError);
  EXPECT_EQ(d.port, 10002);
  EXPECT_EQ(d.db, "dock.db");
  EXPECT_EQ(d.stop_grace, std::chrono::milliseconds(10000));
  EXPECT_FALSE(default_dock_id().empty());
}

}  // namespace
}  // namespace hms::dock
