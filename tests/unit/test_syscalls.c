// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <string.h>
#include <sys/syscall.h>
#include "syscalls.h"
#include "unit.h"

int main(void)
{
	char buf[256];

	CHECK(lk_syscall_nr("read") == SYS_read);
	CHECK(lk_syscall_nr("getppid") == SYS_getppid);
	CHECK(lk_syscall_nr("nanosleep") == SYS_nanosleep);
	CHECK(lk_syscall_nr("39") == 39);
	CHECK(lk_syscall_nr("nosuchcall") == -1);
	CHECK(!strcmp(lk_syscall_name(SYS_write), "write"));
	CHECK(!strcmp(lk_syscall_name(SYS_exit_group), "exit_group"));
	CHECK(lk_syscall_name(100000) == NULL);
	CHECK(lk_syscall_max() > SYS_exit_group);
	CHECK(lk_syscall_suggest("opne", buf, sizeof(buf), 5) >= 1);
	CHECK(strstr(buf, "open") != NULL);
	CHECK(lk_syscall_suggest("xyzzyq", buf, sizeof(buf), 5) == 0);
	return unit_done("test_syscalls");
}
