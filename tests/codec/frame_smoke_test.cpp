#include <gtest/gtest.h>

#include "hms/frame.hpp"

TEST(FrameSmoke, DecodesPing) {
  const std::uint8_t ping[] = {4, 1, 0, 0, 0, 0, 0};
  const auto r = hms::decode_frame(ping, sizeof ping);
  ASSERT_EQ(r.status, hms::DecodeStatus::frame);
  EXPECT_EQ(r.size, 7u);
  EXPECT_EQ(r.frame.header.type, hms::FrameType::ping);
  EXPECT_EQ(r.frame.header.request_id, 1);
}
