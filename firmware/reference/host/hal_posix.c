/* The HAL on a POSIX host: the UART is the master side of a pseudo-terminal, OTP and the
 * configuration are files. Only for running the reference device on a PC (tests, bring-up). */
#define _XOPEN_SOURCE 600
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../imprint_hal.h"
#include "hal_posix.h"

#define OTP_BYTES 64

static struct hal_posix_settings settings;

void hal_posix_setup(const struct hal_posix_settings *s) { settings = *s; }

size_t hal_uart_read(uint8_t *buf, size_t n)
{
    ssize_t got = read(settings.uart_fd, buf, n); /* the fd is non-blocking */
    return got > 0 ? (size_t)got : 0;
}

void hal_uart_write(const uint8_t *buf, size_t n)
{
    while (n > 0) {
        ssize_t put = write(settings.uart_fd, buf, n);
        if (put < 0 && errno != EAGAIN && errno != EINTR) return;
        if (put > 0) buf += put, n -= (size_t)put;
    }
}

uint32_t hal_millis(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint32_t)(t.tv_sec * 1000u + t.tv_nsec / 1000000);
}

static void sleep_ms(unsigned ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {}
}

/* The OTP file holds 64 bytes, 0xFF when erased. A missing file is blank OTP. */
int hal_otp_read(uint32_t offset, uint8_t *buf, uint32_t len)
{
    FILE *f = fopen(settings.otp_file, "rb");
    memset(buf, 0xFF, len);
    if (!f) return errno == ENOENT ? 0 : -1;
    if (fseek(f, (long)offset, SEEK_SET) == 0) (void)!fread(buf, 1, len, f);
    fclose(f);
    return 0;
}

int hal_otp_program(uint32_t offset, const uint8_t *buf, uint32_t len)
{
    uint8_t otp[OTP_BYTES];
    uint32_t i;
    int fd;
    if (offset + len > OTP_BYTES || hal_otp_read(0, otp, OTP_BYTES) != 0) return -1;
    for (i = 0; i < len; i++)
        if (otp[offset + i] != 0xFF && otp[offset + i] != buf[i]) return -1; /* programmed once */
    memcpy(otp + offset, buf, len);
    sleep_ms(settings.program_ms); /* real OTP takes its time */
    fd = open(settings.otp_file, O_WRONLY | O_CREAT, 0600);
    if (fd < 0) return -1;
    if (pwrite(fd, otp, OTP_BYTES, 0) != OTP_BYTES || fsync(fd) != 0) {
        close(fd);
        return -1;
    }
    return close(fd);
}

int hal_config_load(uint8_t *buf, uint32_t len)
{
    FILE *f = fopen(settings.config_file, "rb");
    size_t got;
    if (!f) return errno == ENOENT ? 0 : -1;
    got = fread(buf, 1, len, f);
    fclose(f);
    return (int)got;
}

int hal_config_save(const uint8_t *buf, uint32_t len) /* write a temp file, then rename: atomic */
{
    char tmp[4200];
    FILE *f;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", settings.config_file) >= (int)sizeof tmp) return -1;
    f = fopen(tmp, "wb");
    if (!f) return -1;
    if (fwrite(buf, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fclose(f);
        return -1;
    }
    fclose(f);
    return rename(tmp, settings.config_file);
}

int hal_factory_erase(void)
{
    if (unlink(settings.otp_file) != 0 && errno != ENOENT) return -1;
    if (unlink(settings.config_file) != 0 && errno != ENOENT) return -1;
    return 0;
}
